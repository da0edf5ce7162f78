#include "app/static_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "core/limits.h"

namespace rover::app {
namespace {

constexpr std::string_view kAllow = "GET, HEAD, OPTIONS";

}  // namespace

std::unique_ptr<StaticMounts> StaticMounts::create(
    const std::vector<lua::StaticMountInfo>& mounts, StaticCompression compression,
    std::string* error) {
  auto out = std::make_unique<StaticMounts>();
  out->compression_ = std::move(compression);
  for (const lua::StaticMountInfo& m : mounts) {
    int fd = ::open(m.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      *error = "Static mount '" + m.prefix + "': directory '" + m.dir + "' not found";
      return nullptr;
    }
    out->mounts_.push_back({m.prefix == "/" ? std::string() : m.prefix, fd, m.cache});
  }
  std::stable_sort(out->mounts_.begin(), out->mounts_.end(), [](const Mount& a, const Mount& b) {
    return a.prefix.size() > b.prefix.size();
  });
  return out;
}

StaticMounts::~StaticMounts() {
  for (Mount& m : mounts_) ::close(m.dir_fd);
}

// The mount with the longest prefix covering the path: equal to it or
// below it by whole segments; the root mount covers every path.
bool StaticMounts::serve(const http::Request& req, router::Method method, http::Response& out,
                         StaticScratch& scratch) const {
  std::string_view path = req.path;
  for (const Mount& m : mounts_) {
    std::string_view p = m.prefix;
    if (path.size() < p.size() || path.compare(0, p.size(), p) != 0) continue;
    std::string_view rest = path.substr(p.size());
    if (!rest.empty() && rest.front() != '/') continue;
    // "//a.txt": empty segments are ignored (§10), also leading ones; an
    // encoded "/%2f..." still reads as absolute to resolveStaticPath
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    serveFile(m, rest, req, method, out, scratch);
    return true;
  }
  return false;
}

void StaticMounts::serveFile(const Mount& m, std::string_view rest, const http::Request& req,
                             router::Method method, http::Response& out,
                             StaticScratch& scratch) const {
  if (method == router::Method::kOptions) {
    out.reset(204);
    out.addHeader("Allow", kAllow);
    return;
  }
  if (method != router::Method::kGet && method != router::Method::kHead) {
    out.reset(405, http::kTextPlain, "Method Not Allowed");
    out.addHeader("Allow", kAllow);
    return;
  }
  http::StaticStatus st = http::resolveStaticPath(rest, &scratch.path);
  http::FileIdentity info;
  int fd = -1;
  if (st == http::StaticStatus::kOk) {
    int err = 0;
    // Opening blocks the worker on a cold disk only for the directory lookup
    // and inode read (no data is read here): see bench/README.md.
    fd = http::openBeneath(m.dir_fd, scratch.path.view(), &info, &err);
    if (fd < 0) st = http::staticStatusForErrno(err);
  }
  if (st != http::StaticStatus::kOk) {
    out.reset(http::staticHttpStatus(st), http::kTextPlain, http::staticErrorBody(st));
    return;
  }
  http::StaticFileType type = http::staticFileType(scratch.path.view());
  std::string_view cache = m.cache.empty() ? type.cache_control : std::string_view(m.cache);
  std::string_view etag(scratch.etag, http::formatEtag(info, scratch.etag));
  std::string_view modified(scratch.last_modified,
                            http::formatHttpDate(info.mtime_sec, scratch.last_modified));
  if (http::notModified(req.header("if-none-match"), req.header("if-modified-since"), etag,
                        info.mtime_sec)) {
    ::close(fd);
    out.reset(304);
    out.addHeader("ETag", etag);
    out.addHeader("Last-Modified", modified);
    out.addHeader("Cache-Control", cache);
    return;
  }
  http::ByteRange range;
  if (method == router::Method::kGet) {
    range = http::evaluateRange(req.header("range"), req.header("if-range"), info.size, etag,
                                info.mtime_sec);
  }
  std::string_view content_range(
      scratch.content_range, http::formatContentRange(range, info.size, scratch.content_range));
  if (range.outcome == http::RangeOutcome::kUnsatisfiable) {
    ::close(fd);
    out.reset(416, http::kTextPlain, "");
    out.addHeader("Content-Range", content_range);
    return;
  }
  if (range.outcome == http::RangeOutcome::kFull &&
      serveCoded(info, &fd, type.content_type, req, m, out, scratch)) {
    out.addHeader("Accept-Ranges", "bytes");
    out.addHeader("Last-Modified", modified);
    out.addHeader("Cache-Control", cache);
    if (out.body_kind != http::BodyKind::kFile) out.addHeader("ETag", etag);  // suffixed by §9
    return;
  }
  out.reset(range.outcome == http::RangeOutcome::kPartial ? 206 : 200, type.content_type);
  out.addHeader("Accept-Ranges", "bytes");
  out.addHeader("ETag", etag);
  out.addHeader("Last-Modified", modified);
  out.addHeader("Cache-Control", cache);
  out.body_kind = http::BodyKind::kFile;
  if (range.outcome == http::RangeOutcome::kPartial) {
    out.addHeader("Content-Range", content_range);
    out.file = {fd, range.first, range.length};
  } else {
    out.file = {fd, 0, info.size};
  }
}

// §10 "Compression of files": a fresh precompressed sibling in the
// negotiated coding is sent as is; otherwise a compressible file up to 1 MiB
// is read and left to the compression filter (which codes it, suffixes the
// ETag and says Vary); larger ones go out uncompressed. True when `out` was
// filled (then *fd is consumed).
bool StaticMounts::serveCoded(const http::FileIdentity& info, int* fd, std::string_view type,
                              const http::Request& req, const Mount& m, http::Response& out,
                              StaticScratch& scratch) const {
  const StaticCompression& c = compression_;
  if (c.codings.empty() || !http::isCompressible(type, c.types)) return false;
  std::string_view accept = req.header("accept-encoding");
  if (accept.empty()) return false;
  http::Coding coding = http::negotiate(accept, c.codings);
  if (coding == http::Coding::kIdentity) return false;
  std::string_view name = http::codingName(coding);
  if (http::precompressedSibling(scratch.path.view(), name, &scratch.sibling)) {
    http::FileIdentity sib;
    int err = 0;
    int sfd = http::openBeneath(m.dir_fd, scratch.sibling.view(), &sib, &err);
    if (sfd >= 0 && http::siblingIsFresh(info, sib)) {
      ::close(*fd);
      *fd = -1;
      char etag[http::kEtagSize];
      size_t n = http::formatEtag(info, etag);
      size_t en = http::formatCodedEtag({etag, n}, name, scratch.coded_etag,
                                        sizeof scratch.coded_etag);
      out.reset(200, type);
      out.addHeader("Content-Encoding", name);
      out.addHeader("Vary", "Accept-Encoding");
      if (en > 0) out.addHeader("ETag", {scratch.coded_etag, en});
      out.body_kind = http::BodyKind::kFile;
      out.file = {sfd, 0, sib.size};
      return true;
    }
    if (sfd >= 0) ::close(sfd);
  }
  if (info.size < c.min_size || info.size > core::kStaticCompressMaxBytes) return false;
  std::string& body = scratch.body;
  body.resize(info.size);
  size_t got = 0;
  while (got < body.size()) {
    ssize_t r = ::pread(*fd, body.data() + got, body.size() - got, static_cast<off_t>(got));
    if (r <= 0) return false;  // the file changed under us: sent uncompressed
    got += static_cast<size_t>(r);
  }
  ::close(*fd);
  *fd = -1;
  out.reset(200, type, body);
  return true;
}

}  // namespace rover::app

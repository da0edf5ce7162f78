// Static mounts (server-features.md §10): stage 9 of the pipeline. The mount
// table is built once at startup (each mount's directory opened then) and
// shared, read-only, by all workers; a request a mount covers is answered
// with a file response value (http::BodyKind::kFile) whose bytes the
// connection sends with sendfile. Path safety, validators and ranges are
// http/static_file's.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "http/compress.h"
#include "http/request.h"
#include "http/response.h"
#include "http/static_file.h"
#include "lua/vm.h"
#include "router/router.h"

namespace rover::app {

// Header values of the response being built (one at a time per worker).
struct StaticScratch {
  http::RelativePath path;
  char etag[http::kEtagSize];
  char last_modified[http::kHttpDateSize];
  char content_range[http::kContentRangeMax];
  http::RelativePath sibling;
  char coded_etag[http::kEtagSize + 16];
  std::string body;  // a file read to be compressed on the fly
};

// What §9 allows for files: the codings in preference order (empty: off),
// the compressible types (empty: the default set), the smallest body.
struct StaticCompression {
  std::vector<http::Coding> codings;
  std::vector<std::string> types;
  size_t min_size = 1024;
};

class StaticMounts {
 public:
  // *error: the startup message of §10 for a directory that cannot be opened.
  static std::unique_ptr<StaticMounts> create(const std::vector<lua::StaticMountInfo>& mounts,
                                              StaticCompression compression, std::string* error);
  ~StaticMounts();
  bool empty() const { return mounts_.empty(); }
  // True when a mount covers the request's path: `out` is its response.
  bool serve(const http::Request& req, router::Method method, http::Response& out,
             StaticScratch& scratch) const;

 private:
  struct Mount {
    std::string prefix;  // "" for the root mount
    int dir_fd = -1;
    std::string cache;
  };
  void serveFile(const Mount& m, std::string_view rest, const http::Request& req,
                 router::Method method, http::Response& out, StaticScratch& scratch) const;
  bool serveCoded(const http::FileIdentity& info, int* fd, std::string_view type,
                  const http::Request& req, const Mount& m, http::Response& out,
                  StaticScratch& scratch) const;
  std::vector<Mount> mounts_;  // longest prefix first
  StaticCompression compression_;
};

}  // namespace rover::app

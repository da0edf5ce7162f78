// Static mounts, the pure half (server-features.md §10): path resolution,
// openBeneath on a temporary tree, types, validators, dates, ranges, siblings.
#include "http/static_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>

namespace rover::http {
namespace {

struct Resolved {
  StaticStatus status;
  std::string path;
};

Resolved resolve(std::string_view encoded) {
  static RelativePath out;  // 4 KiB: keep it off the test's stack
  StaticStatus s = resolveStaticPath(encoded, &out);
  return {s, s == StaticStatus::kOk ? std::string(out.view()) : std::string()};
}

StaticStatus statusOf(std::string_view encoded) { return resolve(encoded).status; }

// ---- path resolution -------------------------------------------------------

TEST(StaticPath, PlainPathsAreKept) {
  EXPECT_EQ(resolve("app.js").path, "app.js");
  EXPECT_EQ(resolve("css/site.css").path, "css/site.css");
  EXPECT_EQ(resolve("a/b/c/d.txt").path, "a/b/c/d.txt");
  EXPECT_EQ(resolve("a+b.txt").path, "a+b.txt");  // '+' is not a space in paths
  EXPECT_EQ(resolve("my%20file.txt").path, "my file.txt");
  EXPECT_EQ(resolve("caf%C3%A9.txt").path, "caf\xC3\xA9.txt");
  EXPECT_EQ(resolve("caf\xC3\xA9.txt").path, "caf\xC3\xA9.txt");
  EXPECT_EQ(resolve("%61pp.js").path, "app.js");
  EXPECT_EQ(resolve("a..b/c...d").path, "a..b/c...d");  // dots inside names are fine
  EXPECT_EQ(resolve("report%2Epdf").path, "report.pdf");
}

TEST(StaticPath, EmptyAndDotSegmentsAreDropped) {
  EXPECT_EQ(resolve("a//b").path, "a/b");
  EXPECT_EQ(resolve("a/./b").path, "a/b");
  EXPECT_EQ(resolve("./a").path, "a");
  EXPECT_EQ(resolve("a/").path, "a");
  EXPECT_EQ(resolve("a/.").path, "a");
  EXPECT_EQ(resolve("a/%2e/b").path, "a/b");
  EXPECT_EQ(resolve("a%2f%2fb").path, "a/b");  // %2f decodes to a separator
  EXPECT_EQ(resolve("a%2Fb.txt").path, "a/b.txt");
}

TEST(StaticPath, MountRootIsADirectory) {
  for (std::string_view p : {"", ".", "./", "%2e", "./.", ".//./"}) {
    EXPECT_EQ(statusOf(p), StaticStatus::kDirectory) << p;
  }
}

// Every form below must be refused with "path traversal not allowed".
TEST(StaticPath, TraversalEncodings) {
  const char* kCases[] = {
      "..",                            // bare
      "../etc/passwd",                 // leading
      "a/../../etc/passwd",            // nested
      "a/..",                          // trailing
      "a/b/../c",                      // even when it stays inside
      "%2e%2e/etc/passwd",             // encoded dots
      "%2E%2E/etc/passwd",             // upper-case hex
      ".%2e/etc/passwd",               // half encoded
      "%2e./etc/passwd",               // other half
      "..%2fetc%2fpasswd",             // encoded slash after ..
      "%2e%2e%2fetc%2fpasswd",         // everything encoded
      "a%2f..%2f..%2fetc",             // slash and dots inside one raw segment
      "%252e%252e/etc/passwd",         // double encoding
      "%252E%252E%252Fetc",            // double encoding with a slash
      ".%252e/etc",                    // double, half
      "%25252e%25252e/etc",            // triple encoding
      "%25%32%65%25%32%65/etc",        // "%2e%2e" spelled with escapes
      "%252e%252e%255cetc",            // double-encoded backslash separator
      "%c0%ae%c0%ae/etc/passwd",       // overlong UTF-8 dots (2 bytes)
      "%e0%80%ae%e0%80%ae/etc",        // overlong UTF-8 dots (3 bytes)
      "%f0%80%80%ae%f0%80%80%ae/etc",  // overlong UTF-8 dots (4 bytes)
      "%c0%ae%c0%ae%c0%afetc",         // overlong dots and slash
      "..%c0%afetc",                   // plain dots, overlong slash
      "%c0%2e%c0%2e/x/../y",           // not overlong, but a real .. later
      "%2e%2e",                        // alone
      ".git/../x",                     // traversal wins over the dotfile
  };
  for (const char* c : kCases) {
    EXPECT_EQ(statusOf(c), StaticStatus::kTraversal) << c;
  }
}

// Refused with "invalid path".
TEST(StaticPath, InvalidPaths) {
  const char* kCases[] = {
      "..%5cetc",          // encoded backslash
      "..%5Cetc",          // upper-case hex
      "..\\etc",           // raw backslash
      "a\\b.txt",          // backslash without dots
      "%5c%5cserver%5cx",  // UNC-ish
      "/etc/passwd",       // absolute (remainder starts with '/')
      "%2fetc%2fpasswd",   // absolute after decoding
      "%2F..",             // absolute and traversal: invalid first
      "a%00.html",         // NUL
      "%00",               // NUL alone
      "..%00/",            // NUL after dots
      "%",                 // truncated escapes
      "%2",                //
      "a%zz",              // non-hex
      "%%32%65%%32%65",    // '%' followed by '%'
      "%u002e%u002e/etc",  // IIS %u form
      "%G0",               //
  };
  for (const char* c : kCases) {
    EXPECT_EQ(statusOf(c), StaticStatus::kInvalidPath) << c;
  }
}

TEST(StaticPath, DotfilesAreNotFound) {
  const char* kCases[] = {".env",        ".git/config",   "a/.hidden",  "a/.ssh/id_rsa",
                          "%2egit/HEAD", "%2Ehtaccess",   "...",        "....//x",
                          "..;/etc",     ".well-known/x", "a/%2e%2e%2e"};
  for (const char* c : kCases) {
    EXPECT_EQ(statusOf(c), StaticStatus::kNotFound) << c;
  }
  // A later invalid escape still wins (the whole path is decoded first).
  EXPECT_EQ(statusOf(".env/%zz"), StaticStatus::kInvalidPath);
}

TEST(StaticPath, LengthLimit) {
  std::string max(kStaticPathMax, 'a');
  EXPECT_EQ(resolve(max).path, max);
  EXPECT_EQ(statusOf(max + "a"), StaticStatus::kInvalidPath);
  // The limit counts decoded bytes.
  std::string encoded;
  for (size_t i = 0; i < kStaticPathMax; ++i) encoded += "%61";
  EXPECT_EQ(resolve(encoded).path, max);
  EXPECT_EQ(statusOf(encoded + "%61"), StaticStatus::kInvalidPath);
  // Dropped separators count too: the check is on the decoded request.
  std::string slashes(kStaticPathMax, '/');
  slashes[0] = 'a';
  EXPECT_EQ(resolve(slashes).path, "a");
  EXPECT_EQ(statusOf(slashes + "b"), StaticStatus::kInvalidPath);
}

TEST(StaticPath, OutputIsTerminated) {
  RelativePath out;
  ASSERT_EQ(resolveStaticPath("a//b/./c.txt", &out), StaticStatus::kOk);
  EXPECT_EQ(out.size, 9u);
  EXPECT_STREQ(out.bytes, "a/b/c.txt");
}

TEST(StaticPath, StatusesAndBodies) {
  EXPECT_EQ(staticHttpStatus(StaticStatus::kOk), 200);
  EXPECT_EQ(staticHttpStatus(StaticStatus::kNotFound), 404);
  EXPECT_EQ(staticHttpStatus(StaticStatus::kTraversal), 403);
  EXPECT_EQ(staticHttpStatus(StaticStatus::kInvalidPath), 403);
  EXPECT_EQ(staticHttpStatus(StaticStatus::kDirectory), 403);
  EXPECT_EQ(staticHttpStatus(StaticStatus::kAccessDenied), 403);
  EXPECT_EQ(staticErrorBody(StaticStatus::kNotFound), "Not Found");
  EXPECT_EQ(staticErrorBody(StaticStatus::kTraversal), "Forbidden: path traversal not allowed");
  EXPECT_EQ(staticErrorBody(StaticStatus::kInvalidPath), "Forbidden: invalid path");
  EXPECT_EQ(staticErrorBody(StaticStatus::kDirectory), "Forbidden: directory listing not allowed");
  EXPECT_EQ(staticErrorBody(StaticStatus::kAccessDenied), "Forbidden: access denied");
  EXPECT_EQ(staticErrorBody(StaticStatus::kOk), "");
}

TEST(StaticPath, ErrnoMapping) {
  EXPECT_EQ(staticStatusForErrno(ENOENT), StaticStatus::kNotFound);
  EXPECT_EQ(staticStatusForErrno(ENOTDIR), StaticStatus::kNotFound);
  EXPECT_EQ(staticStatusForErrno(ENAMETOOLONG), StaticStatus::kNotFound);
  EXPECT_EQ(staticStatusForErrno(EXDEV), StaticStatus::kTraversal);
  EXPECT_EQ(staticStatusForErrno(ELOOP), StaticStatus::kTraversal);
  EXPECT_EQ(staticStatusForErrno(EISDIR), StaticStatus::kDirectory);
  EXPECT_EQ(staticStatusForErrno(EACCES), StaticStatus::kAccessDenied);
  EXPECT_EQ(staticStatusForErrno(EPERM), StaticStatus::kAccessDenied);
}

// ---- openBeneath -----------------------------------------------------------

using OpenFn = int (*)(int, std::string_view, FileIdentity*, int*);

// base/secret.txt, and the mount base/public with files, links in and out.
class OpenBeneathTest : public ::testing::TestWithParam<OpenFn> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rover-static-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    pub_ = base_ + "/public";
    write(base_ + "/secret.txt", "secret");
    ASSERT_EQ(mkdir(pub_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((pub_ + "/sub").c_str(), 0755), 0);
    write(pub_ + "/index.html", "<h1>hi</h1>");
    write(pub_ + "/sub/site.css", "body{}");
    write(pub_ + "/empty.txt", "");
    link("sub/site.css", "link_in");
    link("../index.html", "sub/link_up_inside");
    link("sub", "dirlink");
    link("../secret.txt", "link_out");
    link("sub/../../secret.txt", "link_out_nested");
    link("/etc/passwd", "link_abs");
    link(pub_ + "/index.html", "link_abs_inside");
    link("/proc/self/root/etc/passwd", "link_magic");
    link("loop_b", "loop_a");
    link("loop_a", "loop_b");
    link("missing.txt", "dangling");
    ASSERT_EQ(mkfifo((pub_ + "/fifo").c_str(), 0644), 0);
    dir_fd_ = open(pub_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dir_fd_, 0);
  }
  void TearDown() override {
    if (dir_fd_ >= 0) close(dir_fd_);
    std::string cmd = "rm -rf '" + base_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static void write(const std::string& path, std::string_view text) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
  }
  void link(const std::string& target, const std::string& name) {
    ASSERT_EQ(symlink(target.c_str(), (pub_ + "/" + name).c_str()), 0) << name;
  }
  // The file's bytes, or "errno:<n>".
  std::string openAndRead(std::string_view rel, FileIdentity* info = nullptr) {
    FileIdentity tmp;
    int err = 0;
    int fd = GetParam()(dir_fd_, rel, info ? info : &tmp, &err);
    if (fd < 0) return "errno:" + std::to_string(err);
    EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n < 0 ? "read failed" : std::string(buf, static_cast<size_t>(n));
  }
  static std::string errnoText(int e) { return "errno:" + std::to_string(e); }

  std::string base_, pub_;
  int dir_fd_ = -1;
};

TEST_P(OpenBeneathTest, RegularFilesAndInsideLinks) {
  FileIdentity info;
  EXPECT_EQ(openAndRead("index.html", &info), "<h1>hi</h1>");
  struct stat st;
  ASSERT_EQ(stat((pub_ + "/index.html").c_str(), &st), 0);
  EXPECT_EQ(info.size, 11u);
  EXPECT_EQ(info.ino, st.st_ino);
  EXPECT_EQ(info.dev, st.st_dev);
  EXPECT_EQ(info.mtime_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(info.mtime_nsec, st.st_mtim.tv_nsec);
  EXPECT_EQ(openAndRead("sub/site.css"), "body{}");
  EXPECT_EQ(openAndRead("empty.txt", &info), "");
  EXPECT_EQ(info.size, 0u);
  // Symlinks that stay inside the directory are followed (§10).
  EXPECT_EQ(openAndRead("link_in"), "body{}");
  EXPECT_EQ(openAndRead("sub/link_up_inside"), "<h1>hi</h1>");
  EXPECT_EQ(openAndRead("dirlink/site.css"), "body{}");
}

TEST_P(OpenBeneathTest, LinksLeavingTheDirectoryAreTraversal) {
  for (std::string_view rel : {"link_out", "link_out_nested", "link_abs", "link_magic"}) {
    std::string r = openAndRead(rel);
    ASSERT_TRUE(r.starts_with("errno:")) << rel;
    int e = std::stoi(r.substr(6));
    EXPECT_EQ(staticStatusForErrno(e), StaticStatus::kTraversal) << rel << " " << e;
  }
  EXPECT_EQ(staticStatusForErrno(std::stoi(openAndRead("loop_a").substr(6))),
            StaticStatus::kTraversal);
}

TEST_P(OpenBeneathTest, MissingDirectoryAndSpecialFiles) {
  EXPECT_EQ(openAndRead("nope.html"), errnoText(ENOENT));
  EXPECT_EQ(openAndRead("sub/nope.css"), errnoText(ENOENT));
  EXPECT_EQ(openAndRead("dangling"), errnoText(ENOENT));
  EXPECT_EQ(openAndRead("index.html/x"), errnoText(ENOTDIR));
  EXPECT_EQ(openAndRead("sub"), errnoText(EISDIR));
  EXPECT_EQ(openAndRead("dirlink"), errnoText(EISDIR));
  EXPECT_EQ(openAndRead("fifo"), errnoText(EACCES));  // not a regular file; never blocks
  EXPECT_EQ(openAndRead(std::string(kStaticPathMax + 1, 'a')), errnoText(ENAMETOOLONG));
}

TEST_P(OpenBeneathTest, UnreadableFileIsAccessDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads mode 000 files";
  write(pub_ + "/locked.txt", "x");
  ASSERT_EQ(chmod((pub_ + "/locked.txt").c_str(), 0), 0);
  std::string r = openAndRead("locked.txt");
  EXPECT_EQ(r, errnoText(EACCES));
  EXPECT_EQ(staticStatusForErrno(EACCES), StaticStatus::kAccessDenied);
}

// A socket exists but is no file to send: "access denied" (also as root).
TEST_P(OpenBeneathTest, SocketIsAccessDenied) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = pub_ + "/sock";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  FileIdentity info;
  int err = 0;
  EXPECT_EQ(GetParam()(dir_fd_, "sock", &info, &err), -1);
  EXPECT_EQ(staticStatusForErrno(err), StaticStatus::kAccessDenied) << err;
  close(s);
}

TEST_P(OpenBeneathTest, ResolvedPathsOpen) {
  RelativePath rel;
  ASSERT_EQ(resolveStaticPath("sub%2F.%2Fsite.css", &rel), StaticStatus::kOk);
  EXPECT_EQ(openAndRead(rel.view()), "body{}");
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, OpenBeneathTest,
                         ::testing::Values(&openBeneath, &openBeneathWithoutOpenat2));

// RESOLVE_BENEATH refuses every absolute symlink; the fallback checks where
// the file really is, so it accepts one that points inside.
TEST_F(OpenBeneathTest, AbsoluteLinkInsideDiffersBetweenPaths) {
  FileIdentity info;
  int err = 0;
  int fd = openBeneath(dir_fd_, "link_abs_inside", &info, &err);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(err, EXDEV);
  fd = openBeneathWithoutOpenat2(dir_fd_, "link_abs_inside", &info, &err);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(info.size, 11u);
  close(fd);
}

// ---- content types ---------------------------------------------------------

TEST(StaticType, Table) {
  struct Case {
    const char* path;
    const char* type;
    const char* cache;
  };
  const char* kImm = "public, max-age=31536000, immutable";
  const char* kDay = "public, max-age=86400";
  const Case kCases[] = {
      {"index.html", "text/html; charset=utf-8", "no-cache"},
      {"a.htm", "text/html; charset=utf-8", "no-cache"},
      {"d.json", "application/json", "no-cache"},
      {"feed.xml", "application/xml", "no-cache"},
      {"site.webmanifest", "application/manifest+json", "no-cache"},
      {"s.css", "text/css; charset=utf-8", kImm},
      {"app.js", "application/javascript", kImm},
      {"m.mjs", "application/javascript", kImm},
      {"c.cjs", "application/javascript", kImm},
      {"app.js.map", "application/json", kImm},
      {"p.png", "image/png", kImm},
      {"p.jpg", "image/jpeg", kImm},
      {"p.jpeg", "image/jpeg", kImm},
      {"p.gif", "image/gif", kImm},
      {"p.webp", "image/webp", kImm},
      {"p.avif", "image/avif", kImm},
      {"p.svg", "image/svg+xml", kImm},
      {"favicon.ico", "image/x-icon", kImm},
      {"f.woff", "font/woff", kImm},
      {"f.woff2", "font/woff2", kImm},
      {"f.ttf", "font/ttf", kImm},
      {"f.otf", "font/otf", kImm},
      {"f.eot", "application/vnd.ms-fontobject", kImm},
      {"m.wasm", "application/wasm", kImm},
      {"r.txt", "text/plain; charset=utf-8", kDay},
      {"r.csv", "text/csv; charset=utf-8", kDay},
      {"r.pdf", "application/pdf", kDay},
  };
  for (const Case& c : kCases) {
    StaticFileType t = staticFileType(c.path);
    EXPECT_EQ(t.content_type, c.type) << c.path;
    EXPECT_EQ(t.cache_control, c.cache) << c.path;
  }
}

TEST(StaticType, CaseInsensitiveAndLastSegment) {
  EXPECT_EQ(staticFileType("INDEX.HTML").content_type, "text/html; charset=utf-8");
  EXPECT_EQ(staticFileType("App.Js").content_type, "application/javascript");
  EXPECT_EQ(staticFileType("a/b/Photo.JPEG").content_type, "image/jpeg");
  EXPECT_EQ(staticFileType("css.d/site.css").content_type, "text/css; charset=utf-8");
  // Only the last segment's extension counts.
  EXPECT_EQ(staticFileType("site.css/README").content_type, "application/octet-stream");
}

TEST(StaticType, DefaultIsOctetStream) {
  for (const char* p : {"Makefile", "a.tar.gz", "file.", "x.mp4", "x.bin", "a.html.bak", "x.jsx",
                        "x.htmlx", "x.j", ""}) {
    EXPECT_EQ(staticFileType(p).content_type, "application/octet-stream") << p;
    EXPECT_EQ(staticFileType(p).cache_control, "public, max-age=86400") << p;
  }
}

// ---- ETag ------------------------------------------------------------------

std::string etagOf(const FileIdentity& f) {
  char buf[kEtagSize];
  return std::string(buf, formatEtag(f, buf));
}

TEST(StaticEtag, ShapeAndIdentity) {
  FileIdentity f{2049, 1234567, 11, 1700000000, 123456789};
  std::string e = etagOf(f);
  ASSERT_EQ(e.size(), 18u);
  EXPECT_EQ(e.front(), '"');
  EXPECT_EQ(e.back(), '"');
  for (char c : e.substr(1, 16)) EXPECT_TRUE(std::isxdigit(c) && !std::isupper(c)) << e;
  EXPECT_EQ(etagOf(f), e);  // deterministic
  FileIdentity g = f;
  g.dev++;
  EXPECT_NE(etagOf(g), e);
  g = f, g.ino++;
  EXPECT_NE(etagOf(g), e);
  g = f, g.size++;
  EXPECT_NE(etagOf(g), e);
  g = f, g.mtime_sec++;
  EXPECT_NE(etagOf(g), e);
  g = f, g.mtime_nsec++;
  EXPECT_NE(etagOf(g), e);
  EXPECT_NE(etagOf(FileIdentity{}), etagOf(FileIdentity{0, 0, 0, 0, 1}));
}

// ---- dates -----------------------------------------------------------------

std::string dateOf(int64_t t) {
  char buf[kHttpDateSize];
  return std::string(buf, formatHttpDate(t, buf));
}

TEST(StaticDate, Format) {
  EXPECT_EQ(dateOf(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(dateOf(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(dateOf(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(dateOf(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(dateOf(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(dateOf(std::numeric_limits<int64_t>::max()), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(dateOf(std::numeric_limits<int64_t>::min()), "Sat, 01 Jan 0000 00:00:00 GMT");
}

TEST(StaticDate, FormatMatchesGmtimeAndRoundTrips) {
  for (int64_t t = -2208988800; t < 4102444800; t += 86400 * 7 + 3607) {  // 1900..2100
    time_t tt = static_cast<time_t>(t);
    tm g;
    gmtime_r(&tt, &g);
    char want[64];
    strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &g);
    ASSERT_EQ(dateOf(t), want) << t;
    int64_t back = 0;
    ASSERT_TRUE(parseHttpDate(dateOf(t), &back)) << t;
    ASSERT_EQ(back, t);
  }
}

int64_t parsed(std::string_view s) {
  int64_t t = -42;
  return parseHttpDate(s, &t) ? t : -42;
}

TEST(StaticDate, ParsesTheThreeForms) {
  EXPECT_EQ(parsed("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parsed("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parsed("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(parsed("Wed Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
  EXPECT_EQ(parsed("Sun Nov 06 08:49:37 1994"), 784111777);  // 2DIGIT day is allowed too
  EXPECT_EQ(parsed("Saturday, 06-Nov-04 08:49:37 GMT"), parsed("Sat, 06 Nov 2004 08:49:37 GMT"));
  EXPECT_EQ(parsed("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
  EXPECT_EQ(parsed("Wednesday, 31-Dec-69 00:00:00 GMT"), parsed("Wed, 31 Dec 2069 00:00:00 GMT"));
  EXPECT_EQ(parsed("  Sun, 06 Nov 1994 08:49:37 GMT\t"), 784111777);  // OWS
  EXPECT_EQ(parsed("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
  EXPECT_EQ(parsed("Sat, 31 Dec 2016 23:59:60 GMT"), parsed("Sun, 01 Jan 2017 00:00:00 GMT"));
  // The weekday is a name check only (clients do send wrong ones).
  EXPECT_EQ(parsed("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777);
}

TEST(StaticDate, RejectsInvalidDates) {
  const char* kCases[] = {
      "",
      "Sun, 06 Nov 1994 08:49:37",         // no zone
      "Sun, 06 Nov 1994 08:49:37 UTC",     // other zone
      "Sun, 06 Nov 1994 08:49:37 gmt",     // case-sensitive
      "sun, 06 Nov 1994 08:49:37 GMT",     //
      "Sun, 06 nov 1994 08:49:37 GMT",     //
      "Sun, 6 Nov 1994 08:49:37 GMT",      // one-digit day
      "Sun, 06 Nov 94 08:49:37 GMT",       // two-digit year in IMF
      "Sun, 06 Nov 1994 8:49:37 GMT",      // one-digit hour
      "Sun, 06 Nov 1994 24:00:00 GMT",     // hour
      "Sun, 06 Nov 1994 08:60:00 GMT",     // minute
      "Sun, 06 Nov 1994 08:49:61 GMT",     // second
      "Sun, 00 Nov 1994 08:49:37 GMT",     // day 0
      "Sun, 31 Nov 1994 08:49:37 GMT",     // Nov 31
      "Mon, 29 Feb 2001 00:00:00 GMT",     // not a leap year
      "Thu, 29 Feb 1900 00:00:00 GMT",     // century rule
      "Sun, 06 Foo 1994 08:49:37 GMT",     // month
      "Xyz, 06 Nov 1994 08:49:37 GMT",     // weekday
      "Sun, 06 Nov 1994 08:49:37 GMT x",   // trailing text
      "Sun,06 Nov 1994 08:49:37 GMT",      // missing space
      "Sun, 06-Nov-1994 08:49:37 GMT",     // mixed forms
      "Sunday, 06-Nov-1994 08:49:37 GMT",  //
      "Sun, 06-Nov-94 08:49:37 GMT",       // RFC 850 needs the long weekday
      "Sunday, 06 Nov 1994 08:49:37 GMT",  //
      "Sunday, 06-Nov-94 08:49:37",        //
      "Sun Nov 6 08:49:37 1994",           // asctime: one-digit day needs two spaces
      "Sun Nov  6 08:49:37 94",            //
      "Sun Nov  6 08:49:37 1994 GMT",      //
      "1994-11-06T08:49:37Z",              // ISO
      "784111777",                         // epoch
  };
  for (const char* c : kCases) {
    EXPECT_EQ(parsed(c), -42) << c;
  }
}

// ---- conditional requests --------------------------------------------------

constexpr std::string_view kTag = "\"0123456789abcdef\"";

TEST(StaticConditional, IfNoneMatch) {
  EXPECT_TRUE(ifNoneMatchMatches("\"0123456789abcdef\"", kTag));
  EXPECT_TRUE(ifNoneMatchMatches("W/\"0123456789abcdef\"", kTag));
  EXPECT_TRUE(ifNoneMatchMatches("*", kTag));
  EXPECT_TRUE(ifNoneMatchMatches(" * ", kTag));
  EXPECT_TRUE(ifNoneMatchMatches("\"a\", \"0123456789abcdef\"", kTag));
  EXPECT_TRUE(ifNoneMatchMatches("\"a\",W/\"b\" ,\t\"0123456789abcdef\"", kTag));
  EXPECT_TRUE(ifNoneMatchMatches(", ,\"0123456789abcdef\",", kTag));  // empty members
  EXPECT_TRUE(ifNoneMatchMatches("\"0123456789abcdef-gzip\"", kTag));
  EXPECT_TRUE(ifNoneMatchMatches("W/\"0123456789abcdef-deflate\"", kTag));
  EXPECT_TRUE(ifNoneMatchMatches("\"0123456789abcdef-br\"", kTag));
  EXPECT_FALSE(ifNoneMatchMatches("\"0123456789abcdee\"", kTag));
  EXPECT_FALSE(ifNoneMatchMatches("\"0123456789abcdef-zstd\"", kTag));
  EXPECT_FALSE(ifNoneMatchMatches("\"0123456789abcdef-gzip-gzip\"", kTag));
  EXPECT_FALSE(ifNoneMatchMatches("\"0123456789abcde-gzip\"", kTag));
  EXPECT_FALSE(ifNoneMatchMatches("0123456789abcdef", kTag));                  // unquoted
  EXPECT_FALSE(ifNoneMatchMatches("\"0123456789abcdef", kTag));                // unterminated
  EXPECT_FALSE(ifNoneMatchMatches("w/\"0123456789abcdef\"", kTag));            // W is upper-case
  EXPECT_FALSE(ifNoneMatchMatches("\"a\" junk, \"0123456789abcdef\"", kTag));  // list broken
  EXPECT_FALSE(ifNoneMatchMatches("*, \"a\"", kTag));                          // "*" only alone
  EXPECT_FALSE(ifNoneMatchMatches("\"\"", kTag));
}

TEST(StaticConditional, NotModified) {
  const int64_t mtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_FALSE(notModified("", "", kTag, mtime));
  EXPECT_TRUE(notModified(kTag, "", kTag, mtime));
  EXPECT_TRUE(notModified("", "Sun, 06 Nov 1994 08:49:37 GMT", kTag, mtime));   // equal
  EXPECT_TRUE(notModified("", "Sun, 06 Nov 1994 08:49:38 GMT", kTag, mtime));   // later
  EXPECT_FALSE(notModified("", "Sun, 06 Nov 1994 08:49:36 GMT", kTag, mtime));  // earlier
  EXPECT_TRUE(notModified("", "Sunday, 06-Nov-94 08:49:37 GMT", kTag, mtime));
  EXPECT_TRUE(notModified("", "Sun Nov  6 08:49:37 1994", kTag, mtime));
  EXPECT_FALSE(notModified("", "yesterday", kTag, mtime));  // invalid: ignored
  // If-None-Match present: If-Modified-Since is not consulted.
  EXPECT_FALSE(notModified("\"other\"", "Sun, 06 Nov 1994 08:49:37 GMT", kTag, mtime));
  EXPECT_TRUE(notModified(kTag, "Sun, 06 Nov 1994 08:49:36 GMT", kTag, mtime));
  EXPECT_TRUE(notModified("*", "garbage", kTag, mtime));
}

// ---- ranges ----------------------------------------------------------------

struct R {
  RangeOutcome outcome;
  uint64_t first, length;
  bool operator==(const R&) const = default;
};
std::ostream& operator<<(std::ostream& os, const R& r) {
  return os << static_cast<int>(r.outcome) << ":" << r.first << "+" << r.length;
}
R range(std::string_view header, uint64_t size) {
  ByteRange b = parseRange(header, size);
  if (b.outcome != RangeOutcome::kPartial) return {b.outcome, 0, 0};
  return {b.outcome, b.first, b.length};
}
constexpr R kFull{RangeOutcome::kFull, 0, 0};
constexpr R kUnsat{RangeOutcome::kUnsatisfiable, 0, 0};
R part(uint64_t first, uint64_t length) { return {RangeOutcome::kPartial, first, length}; }

TEST(StaticRange, SatisfiableForms) {
  EXPECT_EQ(range("bytes=0-0", 10000), part(0, 1));
  EXPECT_EQ(range("bytes=0-499", 10000), part(0, 500));
  EXPECT_EQ(range("bytes=500-999", 10000), part(500, 500));
  EXPECT_EQ(range("bytes=9999-9999", 10000), part(9999, 1));  // last byte
  EXPECT_EQ(range("bytes=9999-", 10000), part(9999, 1));
  EXPECT_EQ(range("bytes=-1", 10000), part(9999, 1));
  EXPECT_EQ(range("bytes=-500", 10000), part(9500, 500));
  EXPECT_EQ(range("bytes=0-", 10000), part(0, 10000));
  EXPECT_EQ(range("bytes=9500-20000", 10000), part(9500, 500));  // last clamped
  EXPECT_EQ(range("bytes=-20000", 10000), part(0, 10000));       // suffix > file
  EXPECT_EQ(range("bytes=-10000", 10000), part(0, 10000));
  EXPECT_EQ(range("BYTES=0-1", 10000), part(0, 2));  // unit is case-insensitive
  EXPECT_EQ(range("Bytes=0-1", 10000), part(0, 2));
  EXPECT_EQ(range("bytes=0-0", 1), part(0, 1));
  EXPECT_EQ(range("bytes=007-008", 10), part(7, 2));  // leading zeros
}

TEST(StaticRange, Unsatisfiable) {
  EXPECT_EQ(range("bytes=10000-", 10000), kUnsat);
  EXPECT_EQ(range("bytes=10000-10001", 10000), kUnsat);
  EXPECT_EQ(range("bytes=20000-30000", 10000), kUnsat);
  EXPECT_EQ(range("bytes=-0", 10000), kUnsat);
  EXPECT_EQ(range("bytes=1-1", 1), kUnsat);
}

TEST(StaticRange, EmptyFile) {
  EXPECT_EQ(range("bytes=0-0", 0), kUnsat);
  EXPECT_EQ(range("bytes=0-", 0), kUnsat);
  EXPECT_EQ(range("bytes=-0", 0), kUnsat);
  EXPECT_EQ(range("bytes=-5", 0), kFull);  // satisfiable in RFC terms, no byte to send
}

TEST(StaticRange, Whitespace) {
  EXPECT_EQ(range(" bytes=0-1 ", 10), part(0, 2));
  EXPECT_EQ(range("bytes= 0-1", 10), part(0, 2));
  EXPECT_EQ(range("bytes=0-1\t", 10), part(0, 2));
  EXPECT_EQ(range("bytes=0-1 ,", 10), part(0, 2));  // empty members are skipped
  EXPECT_EQ(range("bytes=, 0-1", 10), part(0, 2));
  EXPECT_EQ(range("bytes=0 -1", 10), kFull);  // none inside a member
  EXPECT_EQ(range("bytes=0- 1", 10), kFull);
  EXPECT_EQ(range("bytes =0-1", 10), kFull);
  EXPECT_EQ(range("bytes= -1", 10), part(9, 1));
}

TEST(StaticRange, OverflowingNumbersSaturate) {
  EXPECT_EQ(range("bytes=0-99999999999999999999999", 10000), part(0, 10000));
  EXPECT_EQ(range("bytes=99999999999999999999999-", 10000), kUnsat);
  EXPECT_EQ(range("bytes=-99999999999999999999999", 10000), part(0, 10000));
  EXPECT_EQ(range("bytes=18446744073709551615-", 10000), kUnsat);
  EXPECT_EQ(range("bytes=18446744073709551616-18446744073709551615", 10000), kUnsat);
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(range("bytes=0-", kMax), part(0, kMax));
  EXPECT_EQ(range("bytes=-18446744073709551615", kMax), part(0, kMax));
  EXPECT_EQ(range("bytes=18446744073709551614-", kMax), part(kMax - 1, 1));
}

TEST(StaticRange, IgnoredForms) {
  const char* kCases[] = {
      "",
      "bytes",
      "bytes=",
      "bytes=,",
      "bytes=-",
      "bytes=abc",
      "bytes=1",
      "bytes=1-2-3",
      "bytes=+1-2",
      "bytes=0x10-",
      "bytes=5-4",
      "bytes=-1-2",
      "bytes=1--2",
      "bytes=1-a",
      "items=0-1",
      "bytes 0-1",
      "bytes:0-1",
      "=0-1",
      "bytesx=0-1",
      "bytes=1.5-2",
      "bytes=0-1, 3-4",  // several ranges -> 200 (§10)
      "bytes=0-1,0-1",   //
      "bytes=0-1, 20000-",
      "bytes=-1,-2",
  };
  for (const char* c : kCases) {
    EXPECT_EQ(range(c, 10000), kFull) << c;
  }
}

TEST(StaticRange, IfRange) {
  const int64_t mtime = 784111777;
  const char* kDate = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_TRUE(ifRangeMatches(kTag, kTag, mtime));
  EXPECT_TRUE(ifRangeMatches(kDate, kTag, mtime));
  EXPECT_TRUE(ifRangeMatches("Sunday, 06-Nov-94 08:49:37 GMT", kTag, mtime));
  EXPECT_FALSE(ifRangeMatches("W/\"0123456789abcdef\"", kTag, mtime));  // strong only
  EXPECT_FALSE(ifRangeMatches("\"0123456789abcdef-gzip\"", kTag, mtime));
  EXPECT_FALSE(ifRangeMatches("\"other\"", kTag, mtime));
  EXPECT_FALSE(ifRangeMatches("Sun, 06 Nov 1994 08:49:38 GMT", kTag, mtime));  // later
  EXPECT_FALSE(ifRangeMatches("Sun, 06 Nov 1994 08:49:36 GMT", kTag, mtime));  // earlier
  EXPECT_FALSE(ifRangeMatches("garbage", kTag, mtime));
  EXPECT_FALSE(ifRangeMatches("*", kTag, mtime));

  auto eval = [&](std::string_view r, std::string_view ir) {
    ByteRange b = evaluateRange(r, ir, 100, kTag, mtime);
    return R{b.outcome, b.first, b.length};
  };
  EXPECT_EQ(eval("bytes=0-9", ""), part(0, 10));
  EXPECT_EQ(eval("bytes=0-9", kTag), part(0, 10));
  EXPECT_EQ(eval("bytes=0-9", kDate), part(0, 10));
  EXPECT_EQ(eval("bytes=0-9", "\"stale\""), kFull);
  EXPECT_EQ(eval("bytes=0-9", "Mon, 07 Nov 1994 08:49:37 GMT"), kFull);
  EXPECT_EQ(eval("bytes=200-", kTag), kUnsat);
  EXPECT_EQ(eval("bytes=200-", "\"stale\""), kFull);  // If-Range false: Range ignored
  EXPECT_EQ(eval("", kTag), kFull);
  EXPECT_EQ(eval("", ""), kFull);
}

std::string contentRange(ByteRange r, uint64_t size) {
  char buf[kContentRangeMax];
  return std::string(buf, formatContentRange(r, size, buf));
}

TEST(StaticRange, ContentRange) {
  EXPECT_EQ(contentRange(parseRange("bytes=0-0", 10000), 10000), "bytes 0-0/10000");
  EXPECT_EQ(contentRange(parseRange("bytes=-1", 10000), 10000), "bytes 9999-9999/10000");
  EXPECT_EQ(contentRange(parseRange("bytes=500-", 10000), 10000), "bytes 500-9999/10000");
  EXPECT_EQ(contentRange(parseRange("bytes=10000-", 10000), 10000), "bytes */10000");
  EXPECT_EQ(contentRange(parseRange("bytes=0-0", 0), 0), "bytes */0");
  EXPECT_EQ(contentRange(parseRange("bytes=0-1,2-3", 10), 10), "");
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  std::string big = contentRange({RangeOutcome::kPartial, kMax - 1, 1}, kMax);
  EXPECT_EQ(big, "bytes 18446744073709551614-18446744073709551614/18446744073709551615");
  EXPECT_EQ(big.size(), kContentRangeMax);
}

// ---- precompressed siblings ------------------------------------------------

TEST(StaticPrecompressed, Siblings) {
  EXPECT_EQ(precompressedSuffix("br"), ".br");
  EXPECT_EQ(precompressedSuffix("gzip"), ".gz");
  EXPECT_EQ(precompressedSuffix("deflate"), "");
  EXPECT_EQ(precompressedSuffix("identity"), "");
  EXPECT_EQ(precompressedSuffix(""), "");
  RelativePath out;
  ASSERT_TRUE(precompressedSibling("js/app.js", "br", &out));
  EXPECT_EQ(out.view(), "js/app.js.br");
  EXPECT_STREQ(out.bytes, "js/app.js.br");
  ASSERT_TRUE(precompressedSibling("js/app.js", "gzip", &out));
  EXPECT_EQ(out.view(), "js/app.js.gz");
  EXPECT_FALSE(precompressedSibling("js/app.js", "deflate", &out));
  // In place: the resolved path's own buffer may be the source.
  RelativePath p;
  ASSERT_EQ(resolveStaticPath("a/b.css", &p), StaticStatus::kOk);
  ASSERT_TRUE(precompressedSibling(p.view(), "gzip", &p));
  EXPECT_EQ(p.view(), "a/b.css.gz");
  std::string longest(kStaticPathMax - 3, 'a');
  EXPECT_TRUE(precompressedSibling(longest, "br", &out));
  EXPECT_EQ(out.size, kStaticPathMax);
  EXPECT_FALSE(precompressedSibling(longest + "a", "br", &out));
}

TEST(StaticPrecompressed, Freshness) {
  FileIdentity orig{1, 2, 3, 1000, 500};
  FileIdentity sib = orig;
  EXPECT_TRUE(siblingIsFresh(orig, sib));  // same time: not older
  sib.mtime_nsec = 501;
  EXPECT_TRUE(siblingIsFresh(orig, sib));
  sib.mtime_nsec = 499;
  EXPECT_FALSE(siblingIsFresh(orig, sib));
  sib = orig, sib.mtime_sec = 1001, sib.mtime_nsec = 0;
  EXPECT_TRUE(siblingIsFresh(orig, sib));
  sib = orig, sib.mtime_sec = 999, sib.mtime_nsec = 999999999;
  EXPECT_FALSE(siblingIsFresh(orig, sib));
}

TEST(StaticPrecompressed, CodedEtag) {
  char buf[32];
  EXPECT_EQ(std::string(buf, formatCodedEtag(kTag, "br", buf, sizeof buf)),
            "\"0123456789abcdef-br\"");
  EXPECT_EQ(std::string(buf, formatCodedEtag(kTag, "gzip", buf, sizeof buf)),
            "\"0123456789abcdef-gzip\"");
  EXPECT_EQ(std::string(buf, formatCodedEtag(kTag, "deflate", buf, sizeof buf)),
            "\"0123456789abcdef-deflate\"");
  EXPECT_EQ(formatCodedEtag(kTag, "gzip", buf, 22), 0u);  // one byte short
  EXPECT_EQ(formatCodedEtag(kTag, "gzip", buf, 23), 23u);
  EXPECT_EQ(formatCodedEtag("W/\"x\"", "gzip", buf, sizeof buf), 0u);
  EXPECT_EQ(formatCodedEtag("x", "gzip", buf, sizeof buf), 0u);
  EXPECT_EQ(formatCodedEtag(kTag, "", buf, sizeof buf), 0u);
  // The coded tag matches the original under If-None-Match (§10).
  size_t n = formatCodedEtag(kTag, "gzip", buf, sizeof buf);
  EXPECT_TRUE(ifNoneMatchMatches(std::string_view(buf, n), kTag));
}

}  // namespace
}  // namespace rover::http

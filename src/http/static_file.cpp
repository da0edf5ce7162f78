// Static mounts, the pure half (see static_file.h; server-features.md §10).
#include "http/static_file.h"
#include "http/request.h"
#include "http/text.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/hex.h"

namespace rover::http {
namespace {

// ---- path resolution -------------------------------------------------------

// Decoded byte of the "%XX" at s[i], or -1 when it is not well-formed.
int escapeAt(std::string_view s, size_t i) {
  if (s.size() - i < 3) return -1;
  int hi = core::hexValue(s[i + 1]);
  int lo = core::hexValue(s[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Overlong UTF-8 forms of '.', '/' and '\' (the old IIS traversal): the byte
// they pretend to be, and their length, or 0.
char overlongAt(std::string_view s, size_t i, size_t* len) {
  auto u = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  unsigned char last = 0;
  if (u(0) == 0xC0 || u(0) == 0xC1) {
    last = u(1), *len = 2;
    if (u(0) == 0xC1) last = last == 0x9C ? 0xDC : 0;  // C1 9C = '\'
  } else if (u(0) == 0xE0 && u(1) == 0x80) {
    last = u(2), *len = 3;
  } else if (u(0) == 0xF0 && u(1) == 0x80 && u(2) == 0x80) {
    last = u(3), *len = 4;
  }
  if (last == 0xAE) return '.';
  if (last == 0xAF) return '/';
  if (last == 0xDC) return '\\';
  return 0;
}

// True when `seg` (one decoded segment) is "..", or holds a ".." piece once
// overlong UTF-8 is read as ASCII and '%' escapes are decoded again, up to
// kLevels more times (deeper nesting is treated as traversal too).
bool hidesDotDot(std::string_view seg) {
  constexpr int kLevels = 8;
  char a[kStaticPathMax], b[kStaticPathMax];
  char* cur = a;
  size_t n = 0;
  for (size_t i = 0; i < seg.size(); ++i) {
    size_t len = 1;
    char c = overlongAt(seg, i, &len);
    cur[n++] = c ? c : seg[i];
    i += len - 1;
  }
  for (int level = 0;; ++level) {
    std::string_view s(cur, n);
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
      if (i < s.size() && s[i] != '/' && s[i] != '\\') continue;
      if (s.substr(start, i - start) == "..") return true;
      start = i + 1;
    }
    if (s.find('%') == std::string_view::npos) return false;
    if (level == kLevels) return true;
    char* next = cur == a ? b : a;
    size_t m = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      int byte = s[i] == '%' ? escapeAt(s, i) : -1;
      next[m++] = byte >= 0 ? static_cast<char>(byte) : s[i];
      if (byte >= 0) i += 2;
    }
    if (m == n) return false;  // nothing decodable left
    cur = next, n = m;
  }
}

// Decodes once into out->bytes; kOk or kInvalidPath.
StaticStatus decodeOnce(std::string_view encoded, RelativePath* out) {
  size_t n = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    int byte = static_cast<unsigned char>(encoded[i]);
    if (byte == '%') {
      byte = escapeAt(encoded, i);
      if (byte < 0) return StaticStatus::kInvalidPath;
      i += 2;
    }
    if (byte == 0 || byte == '\\' || n == kStaticPathMax) return StaticStatus::kInvalidPath;
    out->bytes[n++] = static_cast<char>(byte);
  }
  out->size = n;
  if (n > 0 && out->bytes[0] == '/') return StaticStatus::kInvalidPath;
  return StaticStatus::kOk;
}

// ---- dates -----------------------------------------------------------------

constexpr std::array<std::string_view, 7> kDayNames = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

unsigned daysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// A cursor over a date string; each step consumes or fails.
struct DateCursor {
  std::string_view s;
  size_t i = 0;
  bool ok = true;

  void lit(std::string_view t) {
    ok = ok && s.substr(i).starts_with(t);
    if (ok) i += t.size();
  }
  int digits(size_t n) {
    int v = 0;
    for (size_t k = 0; ok && k < n; ++k, ++i) {
      ok = i < s.size() && s[i] >= '0' && s[i] <= '9';
      if (ok) v = v * 10 + (s[i] - '0');
    }
    return v;
  }
  template <size_t N>
  int oneOf(const std::array<std::string_view, N>& names) {
    for (size_t k = 0; ok && k < N; ++k) {
      if (s.substr(i).starts_with(names[k])) {
        i += names[k].size();
        return static_cast<int>(k);
      }
    }
    ok = false;
    return -1;
  }
  void time(int* h, int* m, int* sec) {
    *h = digits(2), lit(":"), *m = digits(2), lit(":"), *sec = digits(2);
  }
};


// ---- entity tags -----------------------------------------------------------

// Splits the next member of an entity-tag list off *list: the opaque tag with
// its quotes, *weak set for W/. False at the end or on a malformed member.
bool nextEntityTag(std::string_view* list, std::string_view* tag, bool* weak) {
  std::string_view s = *list;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == ',')) {
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  *weak = s.starts_with("W/");
  if (*weak) s.remove_prefix(2);
  if (s.empty() || s.front() != '"') return false;
  size_t close = s.find('"', 1);
  if (close == std::string_view::npos) return false;
  *tag = s.substr(0, close + 1);
  s.remove_prefix(close + 1);
  s = trimOws(s);
  if (!s.empty() && s.front() != ',') return false;
  *list = s;
  return true;
}

// Weak comparison of a request's tag with the current ETag (both quoted): the
// opaque parts are equal, or equal once a coding suffix (§9) is removed.
bool weakEqual(std::string_view request_tag, std::string_view etag) {
  if (request_tag == etag) return true;
  if (etag.size() < 2) return false;
  std::string_view opaque = request_tag.substr(1, request_tag.size() - 2);
  std::string_view current = etag.substr(1, etag.size() - 2);
  for (std::string_view suffix : {"-br", "-gzip", "-deflate"}) {
    if (opaque.size() == current.size() + suffix.size() && opaque.starts_with(current) &&
        opaque.ends_with(suffix)) {
      return true;
    }
  }
  return false;
}

// ---- ranges ----------------------------------------------------------------

// Saturating decimal; false when there is no digit.
bool parseCount(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    n = n > (std::numeric_limits<uint64_t>::max() - d) / 10 ? std::numeric_limits<uint64_t>::max()
                                                            : n * 10 + d;
  }
  *v = n;
  return true;
}

ByteRange rangeOfSpec(std::string_view spec, uint64_t size) {
  constexpr ByteRange kFull{};
  constexpr ByteRange kUnsatisfiable{RangeOutcome::kUnsatisfiable, 0, 0};
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return kFull;
  uint64_t first = 0, last = 0;
  if (dash == 0) {  // suffix
    if (!parseCount(spec.substr(1), &last)) return kFull;
    if (last == 0) return kUnsatisfiable;
    if (size == 0) return kFull;
    uint64_t len = last < size ? last : size;
    return {RangeOutcome::kPartial, size - len, len};
  }
  if (!parseCount(spec.substr(0, dash), &first)) return kFull;
  std::string_view tail = spec.substr(dash + 1);
  last = std::numeric_limits<uint64_t>::max();
  if (!tail.empty() && !parseCount(tail, &last)) return kFull;
  if (last < first) return kFull;
  if (first >= size) return kUnsatisfiable;
  if (last >= size) last = size - 1;
  return {RangeOutcome::kPartial, first, last - first + 1};
}

char* appendDecimal(char* p, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do tmp[n++] = static_cast<char>('0' + v % 10);
  while ((v /= 10) != 0);
  while (n) *p++ = tmp[--n];
  return p;
}

// ---- files -----------------------------------------------------------------

// Copies rel into a NUL-terminated buffer; false when too long.
bool terminated(std::string_view rel, char (&buf)[kStaticPathMax + 1]) {
  if (rel.size() > kStaticPathMax) return false;
  std::memcpy(buf, rel.data(), rel.size());
  buf[rel.size()] = '\0';
  return true;
}

// fstat and the regular-file rule; closes fd on failure.
int keepRegular(int fd, FileIdentity* info, int* err) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = errno;
  } else if (S_ISDIR(st.st_mode)) {
    *err = EISDIR;
  } else if (!S_ISREG(st.st_mode)) {
    *err = EACCES;
  } else {
    *info = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
             static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
             static_cast<int64_t>(st.st_mtim.tv_nsec)};
    return fd;
  }
  close(fd);
  return -1;
}

// readlink of /proc/self/fd/<fd> into buf (NUL-terminated); length or -1.
ssize_t fdPath(int fd, char* buf, size_t cap) {
  char link[32];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, cap - 1);
  if (n < 0 || static_cast<size_t>(n) >= cap - 1) return -1;
  buf[n] = '\0';
  return n;
}

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

}  // namespace

int staticHttpStatus(StaticStatus s) {
  switch (s) {
    case StaticStatus::kOk:
      return 200;
    case StaticStatus::kNotFound:
      return 404;
    default:
      return 403;
  }
}

std::string_view staticErrorBody(StaticStatus s) {
  switch (s) {
    case StaticStatus::kOk:
      return "";
    case StaticStatus::kNotFound:
      return "Not Found";
    case StaticStatus::kTraversal:
      return "Forbidden: path traversal not allowed";
    case StaticStatus::kInvalidPath:
      return "Forbidden: invalid path";
    case StaticStatus::kDirectory:
      return "Forbidden: directory listing not allowed";
    case StaticStatus::kAccessDenied:
      return "Forbidden: access denied";
  }
  return "";
}

// Decodes into out->bytes, then compacts the kept segments in place (a
// segment never moves right, so reading and writing the same buffer is safe).
StaticStatus resolveStaticPath(std::string_view encoded, RelativePath* out) {
  out->size = 0;
  StaticStatus st = decodeOnce(encoded, out);
  if (st != StaticStatus::kOk) return st;
  size_t decoded = out->size, w = 0, start = 0;
  bool dotfile = false;
  for (size_t i = 0; i <= decoded; ++i) {
    if (i < decoded && out->bytes[i] != '/') continue;
    std::string_view seg(out->bytes + start, i - start);
    size_t seg_start = start;
    start = i + 1;
    if (seg.empty() || seg == ".") continue;
    if (hidesDotDot(seg)) return StaticStatus::kTraversal;
    if (seg.front() == '.') dotfile = true;
    if (w > 0) out->bytes[w++] = '/';
    std::memmove(out->bytes + w, out->bytes + seg_start, seg.size());
    w += seg.size();
  }
  out->size = w;
  out->bytes[w] = '\0';
  if (dotfile) return StaticStatus::kNotFound;
  return w == 0 ? StaticStatus::kDirectory : StaticStatus::kOk;
}

int openBeneath(int dir_fd, std::string_view rel, FileIdentity* info, int* err) {
  char path[kStaticPathMax + 1];
  if (!terminated(rel, path)) return *err = ENAMETOOLONG, -1;
  open_how how{};
  how.flags = kOpenFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, dir_fd, path, &how, sizeof how));
  if (fd < 0) {
    if (errno == ENOSYS) return openBeneathWithoutOpenat2(dir_fd, rel, info, err);
    return *err = errno, -1;
  }
  return keepRegular(fd, info, err);
}

int openBeneathWithoutOpenat2(int dir_fd, std::string_view rel, FileIdentity* info, int* err) {
  char path[kStaticPathMax + 1];
  if (!terminated(rel, path)) return *err = ENAMETOOLONG, -1;
  if (rel.empty()) return *err = ENOENT, -1;  // as openat2 answers ""
  if (rel.front() == '/') return *err = EXDEV, -1;
  int pinned = openat(dir_fd, path, O_PATH | O_CLOEXEC);
  if (pinned < 0) return *err = errno, -1;
  // Both real paths, from the kernel's view of the open files (no race:
  // `pinned` holds the inode that will be reopened).
  char dir_real[kStaticPathMax + 1], file_real[kStaticPathMax + 1];
  ssize_t dn = fdPath(dir_fd, dir_real, sizeof dir_real);
  ssize_t fn = fdPath(pinned, file_real, sizeof file_real);
  bool below = dn > 0 && fn > dn &&
               std::memcmp(file_real, dir_real, static_cast<size_t>(dn)) == 0 &&
               (file_real[dn] == '/' || (dn == 1 && dir_real[0] == '/'));
  if (!below) {
    bool same = dn > 0 && dn == fn && std::memcmp(file_real, dir_real, dn) == 0;
    close(pinned);
    return *err = dn < 0 || fn < 0 ? EACCES : same ? EISDIR : EXDEV, -1;
  }
  struct stat st;
  int stat_errno = fstat(pinned, &st) != 0 ? errno : 0;
  if (stat_errno != 0 || !S_ISREG(st.st_mode)) {
    *err = stat_errno != 0 ? stat_errno : S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    close(pinned);
    return -1;
  }
  char link[32];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", pinned);
  int fd = open(link, kOpenFlags);
  int open_errno = errno;
  close(pinned);
  if (fd < 0) return *err = open_errno, -1;
  return keepRegular(fd, info, err);
}

StaticStatus staticStatusForErrno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return StaticStatus::kNotFound;
    case EXDEV:
    case ELOOP:
      return StaticStatus::kTraversal;
    case EISDIR:
      return StaticStatus::kDirectory;
    default:
      return StaticStatus::kAccessDenied;
  }
}

StaticFileType staticFileType(std::string_view path) {
  static constexpr std::string_view kNoCache = "no-cache";
  static constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
  static constexpr std::string_view kDay = "public, max-age=86400";
  struct Entry {
    std::string_view ext;
    StaticFileType type;
  };
  static constexpr Entry kTable[] = {
      {"html", {"text/html; charset=utf-8", kNoCache}},
      {"htm", {"text/html; charset=utf-8", kNoCache}},
      {"json", {"application/json", kNoCache}},
      {"xml", {"application/xml", kNoCache}},
      {"webmanifest", {"application/manifest+json", kNoCache}},
      {"css", {"text/css; charset=utf-8", kImmutable}},
      {"js", {"application/javascript", kImmutable}},
      {"mjs", {"application/javascript", kImmutable}},
      {"cjs", {"application/javascript", kImmutable}},
      {"map", {"application/json", kImmutable}},
      {"png", {"image/png", kImmutable}},
      {"jpg", {"image/jpeg", kImmutable}},
      {"jpeg", {"image/jpeg", kImmutable}},
      {"gif", {"image/gif", kImmutable}},
      {"webp", {"image/webp", kImmutable}},
      {"avif", {"image/avif", kImmutable}},
      {"svg", {"image/svg+xml", kImmutable}},
      {"ico", {"image/x-icon", kImmutable}},
      {"woff", {"font/woff", kImmutable}},
      {"woff2", {"font/woff2", kImmutable}},
      {"ttf", {"font/ttf", kImmutable}},
      {"otf", {"font/otf", kImmutable}},
      {"eot", {"application/vnd.ms-fontobject", kImmutable}},
      {"wasm", {"application/wasm", kImmutable}},
      {"txt", {"text/plain; charset=utf-8", kDay}},
      {"csv", {"text/csv; charset=utf-8", kDay}},
      {"pdf", {"application/pdf", kDay}},
  };
  static constexpr StaticFileType kDefault = {"application/octet-stream", kDay};
  std::string_view name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return kDefault;
  std::string_view ext = name.substr(dot + 1);
  for (const Entry& e : kTable) {
    if (equalsIgnoreCase(ext, e.ext)) return e.type;
  }
  return kDefault;
}

size_t formatEtag(const FileIdentity& f, char* out) {
  auto mix = [](uint64_t x) {  // splitmix64's finalizer
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint64_t v : {f.dev, f.ino, f.size, static_cast<uint64_t>(f.mtime_sec),
                     static_cast<uint64_t>(f.mtime_nsec)}) {
    h = mix(h ^ v) + 0x9e3779b97f4a7c15ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out[0] = '"';
  for (int i = 0; i < 16; ++i) out[1 + i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  out[17] = '"';
  return kEtagSize;
}

size_t formatHttpDate(int64_t unix_sec, char* out) {
  constexpr int64_t kMin = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  unix_sec = unix_sec < kMin ? kMin : unix_sec > kMax ? kMax : unix_sec;
  int64_t days = unix_sec >= 0 ? unix_sec / 86400 : (unix_sec - 86399) / 86400;
  int64_t secs = unix_sec - days * 86400;
  int64_t y;
  unsigned m, d;
  civilFromDays(days, &y, &m, &d);
  int64_t wday = (days % 7 + 11) % 7;  // 1970-01-01 was a Thursday
  auto two = [](char* p, unsigned v) { p[0] = char('0' + v / 10), p[1] = char('0' + v % 10); };
  std::memcpy(out, kDayNames[wday].data(), 3);
  std::memcpy(out + 3, ", ", 2);
  two(out + 5, d);
  out[7] = ' ';
  std::memcpy(out + 8, kMonthNames[m - 1].data(), 3);
  out[11] = ' ';
  two(out + 12, static_cast<unsigned>(y / 100));
  two(out + 14, static_cast<unsigned>(y % 100));
  out[16] = ' ';
  two(out + 17, static_cast<unsigned>(secs / 3600));
  out[19] = ':';
  two(out + 20, static_cast<unsigned>(secs / 60 % 60));
  out[22] = ':';
  two(out + 23, static_cast<unsigned>(secs % 60));
  std::memcpy(out + 25, " GMT", 4);
  return kHttpDateSize;
}

bool parseHttpDate(std::string_view text, int64_t* unix_sec) {
  DateCursor c{trimOws(text)};
  int day = 0, month = 0, year = 0, h = 0, mi = 0, s = 0;
  if (c.s.size() > 3 && c.s[3] == ',') {  // IMF-fixdate
    c.oneOf(kDayNames), c.lit(", "), day = c.digits(2), c.lit(" ");
    month = c.oneOf(kMonthNames), c.lit(" "), year = c.digits(4), c.lit(" ");
    c.time(&h, &mi, &s), c.lit(" GMT");
  } else if (c.s.size() > 3 && c.s[3] == ' ') {  // asctime
    c.oneOf(kDayNames), c.lit(" "), month = c.oneOf(kMonthNames), c.lit(" ");
    if (c.ok && c.i < c.s.size() && c.s[c.i] == ' ') {
      c.lit(" "), day = c.digits(1);
    } else {
      day = c.digits(2);
    }
    c.lit(" "), c.time(&h, &mi, &s), c.lit(" "), year = c.digits(4);
  } else {  // RFC 850
    c.oneOf(kLongDayNames), c.lit(", "), day = c.digits(2), c.lit("-");
    month = c.oneOf(kMonthNames), c.lit("-"), year = c.digits(2), c.lit(" ");
    c.time(&h, &mi, &s), c.lit(" GMT");
    year += year < 70 ? 2000 : 1900;
  }
  if (!c.ok || c.i != c.s.size()) return false;
  unsigned m = static_cast<unsigned>(month + 1);
  if (day < 1 || static_cast<unsigned>(day) > daysInMonth(year, m)) return false;
  if (h > 23 || mi > 59 || s > 60) return false;
  *unix_sec = daysFromCivil(year, m, static_cast<unsigned>(day)) * 86400 + h * 3600 + mi * 60 + s;
  return true;
}

bool ifNoneMatchMatches(std::string_view if_none_match, std::string_view etag) {
  std::string_view list = trimOws(if_none_match);
  if (list == "*") return true;
  std::string_view tag;
  bool weak;
  while (nextEntityTag(&list, &tag, &weak)) {
    if (weakEqual(tag, etag)) return true;
  }
  return false;
}

bool notModified(std::string_view if_none_match, std::string_view if_modified_since,
                 std::string_view etag, int64_t mtime_sec) {
  if (!if_none_match.empty()) return ifNoneMatchMatches(if_none_match, etag);
  int64_t since;
  if (if_modified_since.empty() || !parseHttpDate(if_modified_since, &since)) return false;
  return mtime_sec <= since;
}

ByteRange parseRange(std::string_view range, uint64_t size) {
  range = trimOws(range);
  size_t eq = range.find('=');
  if (eq == std::string_view::npos || !equalsIgnoreCase(range.substr(0, eq), "bytes")) return {};
  std::string_view set = range.substr(eq + 1), only;
  size_t members = 0;
  while (true) {
    size_t comma = set.find(',');
    std::string_view member = trimOws(set.substr(0, comma));
    if (!member.empty()) ++members, only = member;
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (members != 1) return {};
  return rangeOfSpec(only, size);
}

bool ifRangeMatches(std::string_view if_range, std::string_view etag, int64_t mtime_sec) {
  if_range = trimOws(if_range);
  if (if_range.starts_with("W/")) return false;
  if (if_range.starts_with("\"")) return if_range == etag;
  int64_t date;
  return parseHttpDate(if_range, &date) && date == mtime_sec;
}

ByteRange evaluateRange(std::string_view range, std::string_view if_range, uint64_t size,
                        std::string_view etag, int64_t mtime_sec) {
  if (range.empty()) return {};
  if (!if_range.empty() && !ifRangeMatches(if_range, etag, mtime_sec)) return {};
  return parseRange(range, size);
}

size_t formatContentRange(const ByteRange& r, uint64_t size, char* out) {
  if (r.outcome == RangeOutcome::kFull) return 0;
  char* p = out;
  std::memcpy(p, "bytes ", 6);
  p += 6;
  if (r.outcome == RangeOutcome::kUnsatisfiable) {
    *p++ = '*';
  } else {
    p = appendDecimal(p, r.first);
    *p++ = '-';
    p = appendDecimal(p, r.first + r.length - 1);
  }
  *p++ = '/';
  p = appendDecimal(p, size);
  return static_cast<size_t>(p - out);
}

std::string_view precompressedSuffix(std::string_view coding) {
  if (coding == "br") return ".br";
  if (coding == "gzip") return ".gz";
  return "";
}

bool precompressedSibling(std::string_view file, std::string_view coding, RelativePath* out) {
  std::string_view suffix = precompressedSuffix(coding);
  if (suffix.empty() || file.size() + suffix.size() > kStaticPathMax) return false;
  std::memmove(out->bytes, file.data(), file.size());
  std::memcpy(out->bytes + file.size(), suffix.data(), suffix.size());
  out->size = file.size() + suffix.size();
  out->bytes[out->size] = '\0';
  return true;
}

bool siblingIsFresh(const FileIdentity& original, const FileIdentity& sibling) {
  if (sibling.mtime_sec != original.mtime_sec) return sibling.mtime_sec > original.mtime_sec;
  return sibling.mtime_nsec >= original.mtime_nsec;
}

size_t formatCodedEtag(std::string_view etag, std::string_view coding, char* out, size_t cap) {
  if (etag.size() < 2 || etag.front() != '"' || etag.back() != '"') return 0;
  size_t n = etag.size() + 1 + coding.size();
  if (coding.empty() || n > cap) return 0;
  std::memcpy(out, etag.data(), etag.size() - 1);
  out[etag.size() - 1] = '-';
  std::memcpy(out + etag.size(), coding.data(), coding.size());
  out[n - 1] = '"';
  return n;
}

}  // namespace rover::http

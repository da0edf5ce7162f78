// Static mounts, the pure half (server-features.md §10; RFC 9110 §8.8, §13, §14):
// request-path resolution, opening a file beneath the mount directory,
// content type and Cache-Control by extension, ETag and HTTP dates,
// If-None-Match / If-Modified-Since, Range / If-Range, and the names of
// precompressed siblings. The mount table, routing, methods and sendfile live
// in app/, which calls these functions.
//
// No function allocates: results go into caller-provided fixed buffers, and
// every input view is only read during the call (nothing is kept).
// openBeneath is the one function here that touches file descriptors (the
// brief placed it with the rest; it would sit as well in app/).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rover::http {

// Longest decoded path below a mount (§10 "more than 4096 bytes" -> 403).
inline constexpr size_t kStaticPathMax = 4096;

// What a static request comes to, short of serving the file.
enum class StaticStatus : uint8_t {
  kOk,
  kNotFound,      // 404 "Not Found": missing file, or a segment starting with '.'
  kTraversal,     // 403 "Forbidden: path traversal not allowed"
  kInvalidPath,   // 403 "Forbidden: invalid path"
  kDirectory,     // 403 "Forbidden: directory listing not allowed"
  kAccessDenied,  // 403 "Forbidden: access denied"
};
// 200, 403 or 404.
int staticHttpStatus(StaticStatus s);
// The plain-text body of the error response ("" for kOk); a static string.
std::string_view staticErrorBody(StaticStatus s);

// A relative path below the mount: segments joined by '/', no empty, "." or
// ".." segment, no leading '/', NUL-terminated (ready for openat).
struct RelativePath {
  char bytes[kStaticPathMax + 1];
  size_t size = 0;
  std::string_view view() const { return {bytes, size}; }
};

// `encoded` is the request path after "<prefix>/" (the whole path after "/"
// for the root mount), still percent-encoded, without the query. It is
// percent-decoded once; empty and "." segments are dropped. Checks in order:
// malformed '%', NUL or '\' (raw or decoded), a leading '/' after decoding,
// more than kStaticPathMax decoded bytes -> kInvalidPath; a ".." segment —
// also one that becomes ".." when decoded again (double encoding) or written
// with overlong UTF-8 dots — -> kTraversal; a segment starting with '.' ->
// kNotFound; nothing left (the mount root) -> kDirectory. kOk fills *out.
StaticStatus resolveStaticPath(std::string_view encoded, RelativePath* out);

// What fstat says about an open file, for validators and framing.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
};

// Opens `rel` (from resolveStaticPath) below the directory `dir_fd` with
// O_RDONLY|O_CLOEXEC|O_NONBLOCK via openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS):
// symlinks are followed while they stay inside the directory (absolute ones
// never do, by RESOLVE_BENEATH's rule). Only a regular file is kept. Returns the
// fd and fills *info, or returns -1 with *err an errno value: EISDIR for a
// directory, EACCES for a non-regular file, EXDEV/ELOOP for an escape.
// On ENOSYS (kernel < 5.6) it uses openBeneathWithoutOpenat2.
int openBeneath(int dir_fd, std::string_view rel, FileIdentity* info, int* err);
// The fallback, exposed for tests: opens with O_PATH (following symlinks),
// checks that /proc/self/fd says the file lies below the directory, fstats,
// then reopens the pinned inode for reading. Fails closed without /proc.
int openBeneathWithoutOpenat2(int dir_fd, std::string_view rel, FileIdentity* info, int* err);
// The response for openBeneath's *err: ENOENT/ENOTDIR/ENAMETOOLONG -> kNotFound,
// EXDEV/ELOOP -> kTraversal, EISDIR -> kDirectory, anything else -> kAccessDenied.
StaticStatus staticStatusForErrno(int err);

// Content-Type and default Cache-Control by the last segment's extension
// (case-insensitive); static strings.
struct StaticFileType {
  std::string_view content_type;
  std::string_view cache_control;
};
StaticFileType staticFileType(std::string_view path);

// ETag: "<16 lowercase hex digits>" (quotes included), a 64-bit mix of device,
// inode, size and mtime (s and ns).
inline constexpr size_t kEtagSize = 18;
size_t formatEtag(const FileIdentity& f, char* out /* >= kEtagSize */);

// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (years 0000-9999, clamped).
inline constexpr size_t kHttpDateSize = 29;
size_t formatHttpDate(int64_t unix_sec, char* out /* >= kHttpDateSize */);
// HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94
// 08:49:37 GMT", two-digit years 70-99 -> 19xx, 00-69 -> 20xx) and asctime
// ("Sun Nov  6 08:49:37 1994"). Case-sensitive; surrounding OWS allowed; the
// weekday is checked as a name, not against the date. False when invalid.
bool parseHttpDate(std::string_view text, int64_t* unix_sec);

// If-None-Match (a list of entity-tags, or "*") against the current ETag by
// weak comparison: W/ ignored, a -br/-gzip/-deflate suffix inside the quotes
// ignored. A malformed member ends the list (what came before still counts).
bool ifNoneMatchMatches(std::string_view if_none_match, std::string_view etag);
// §10 conditionals for GET/HEAD; an empty view means the header is absent.
// If-None-Match present: 304 iff it matches (If-Modified-Since not consulted).
// Otherwise a valid If-Modified-Since: 304 iff mtime_sec <= that date.
// Evaluate before ranges: a 304 wins over 206/416.
bool notModified(std::string_view if_none_match, std::string_view if_modified_since,
                 std::string_view etag, int64_t mtime_sec);

// The answer to a GET's Range.
enum class RangeOutcome : uint8_t {
  kFull,           // 200, the whole file (no Range, ignored, invalid, several ranges)
  kPartial,        // 206, bytes [first, first + length)
  kUnsatisfiable,  // 416, "Content-Range: bytes */<size>"
};
struct ByteRange {
  RangeOutcome outcome = RangeOutcome::kFull;
  uint64_t first = 0;
  uint64_t length = 0;
};
// One range of "bytes=" (unit case-insensitive; OWS around list members; empty
// members skipped; numbers saturate instead of overflowing). "a-b" with b < a,
// a unit other than bytes, or any syntax error -> kFull. a >= size or "-0" ->
// kUnsatisfiable; b and a suffix are clamped to the file. An empty file
// answers "-n" with kFull (no byte to send, no 206 to express).
ByteRange parseRange(std::string_view range, uint64_t size);
// If-Range: an entity-tag compared strongly (a W/ tag never matches), or an
// HTTP-date equal to mtime_sec. Anything else does not match.
bool ifRangeMatches(std::string_view if_range, std::string_view etag, int64_t mtime_sec);
// Range and If-Range together (empty views = absent): kFull unless Range is
// present and If-Range, when present, matches. GET only; HEAD ignores Range.
ByteRange evaluateRange(std::string_view range, std::string_view if_range, uint64_t size,
                        std::string_view etag, int64_t mtime_sec);
// Content-Range value: "bytes <first>-<last>/<size>" for kPartial,
// "bytes */<size>" for kUnsatisfiable, nothing (0) for kFull.
inline constexpr size_t kContentRangeMax = 6 + 20 + 1 + 20 + 1 + 20;
size_t formatContentRange(const ByteRange& r, uint64_t size, char* out /* >= kContentRangeMax */);

// Precompressed siblings (§10): only the negotiated coding's sibling is tried —
// "br" -> "<file>.br", "gzip" -> "<file>.gz"; any other coding has none ("").
std::string_view precompressedSuffix(std::string_view coding);
// Writes "<file><suffix>" into *out; false when the coding has no sibling or
// the name would exceed kStaticPathMax.
bool precompressedSibling(std::string_view file, std::string_view coding, RelativePath* out);
// The sibling is used when its mtime is not older than the original's.
bool siblingIsFresh(const FileIdentity& original, const FileIdentity& sibling);
// The ETag of a coded representation: "x" -> "x-<coding>" (§9). Returns 0
// when etag is not a quoted strong tag or out is too small.
size_t formatCodedEtag(std::string_view etag, std::string_view coding, char* out, size_t cap);

}  // namespace rover::http

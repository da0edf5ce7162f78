// Request body form parsing for ctx:body():form() / :file() / :files() /
// :multipart() (server-features.md §16 "Uploads"): multipart/form-data
// (RFC 7578 over RFC 2046 §5.1.1) parsed in one linear pass over the whole
// body, without copying part data.
//
// application/x-www-form-urlencoded bodies need nothing new: they follow the
// query rules of lua-api.md §6.2, so the Lua layer runs forEachQueryPair
// (http/query.h) on the body; isUrlencodedForm() below only picks the parser.
//
// Choices (RFC 2046 leaves them open or browsers never need the lenient path):
// * Line endings are CRLF only. A bare LF in a part's header section, or after
//   a boundary line, is kMalformed (a lenient parser would read a different
//   part list than a strict proxy in front of it).
// * Every occurrence of CRLF "--" boundary is a delimiter (RFC 2046: it must
//   not occur inside a part); one not followed by "--" (close) or by transport
//   padding (SP/HT) and CRLF is kMalformed. Bytes after the close delimiter
//   are an epilogue and ignored.
// * Part headers: "name: value" lines, names case-insensitive; obs-fold and
//   a repeated Content-Disposition or Content-Type are kMalformed; other
//   headers (Content-Transfer-Encoding included, RFC 7578 §4.7) are ignored.
// * Content-Disposition must be form-data with a non-empty name; parameters
//   in any order, token or quoted-string values (backslash escapes decoded);
//   a repeated parameter is kMalformed. filename*= (RFC 8187, charset UTF-8 or
//   ISO-8859-1, percent-decoded; ISO-8859-1 converted to UTF-8) wins over
//   filename=; a filename* that cannot be decoded is ignored.
// * max_file_bytes applies to file parts (has_filename) only; text fields are
//   bounded by max_total_bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rover::http {

// Views live as long as the body passed to parseMultipart() (data, and names,
// filenames and content types needing no decoding) or until the scratch
// string is next modified (decoded names and filenames).
struct FormPart {
  std::string_view name;          // Content-Disposition name=, unquoted/unescaped, never empty
  std::string_view filename;      // filename*= or filename=; "" when absent
  bool has_filename = false;      // a filename parameter was present (a file part)
  std::string_view content_type;  // the part's Content-Type value, trimmed; "" if absent
  std::string_view data;          // the part's body: a view into the request body
};

enum class FormError : uint8_t {
  kNone,
  kNotMultipart,  // 415: Content-Type is not multipart/form-data
  kBadBoundary,   // 400: boundary parameter absent, empty, over 70 chars or bad chars
  kMalformed,     // 400: body does not follow RFC 2046 / RFC 7578 (see above)
  kTooManyParts,  // 413: more than max_parts parts
  kFileTooLarge,  // 413: a file part over max_file_bytes
  kTooLarge,      // 413: body over max_total_bytes
};

// server-features.md §16: 100 parts, 10 MiB per file, 50 MiB per request.
struct MultipartLimits {
  size_t max_parts = 100;
  size_t max_file_bytes = size_t{10} << 20;
  size_t max_total_bytes = size_t{50} << 20;
};

// The boundary parameter of a multipart/form-data Content-Type: the media type
// is matched case-insensitively; parameters are token or quoted-string (a
// quoted boundary with a backslash is rejected: no boundary char needs one);
// the boundary has 1..70 RFC 2046 bchars, not ending in a space. *boundary is
// a view into content_type. kNotMultipart for any other media type.
FormError multipartBoundary(std::string_view content_type, std::string_view* boundary);

// True when the media type of content_type is application/x-www-form-urlencoded.
bool isUrlencodedForm(std::string_view content_type);

// Parses the whole body into *parts (cleared first, capacity reused), in body
// order, repeated names kept. *scratch is cleared and holds the decoded names
// and filenames; it is reserved once, after the parse, so views into it stay
// valid. kTooLarge is checked first, without reading the body. On an error
// *parts and *scratch are left empty.
FormError parseMultipart(std::string_view body, std::string_view boundary,
                         const MultipartLimits& limits, std::vector<FormPart>* parts,
                         std::string* scratch);

// Status code for the error: 400, 413 or 415 (0 for kNone).
int formErrorStatus(FormError error);
// A human-readable message for the error (the integrator's 4xx body).
std::string_view formErrorMessage(FormError error);

}  // namespace rover::http

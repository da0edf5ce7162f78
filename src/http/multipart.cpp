// multipart/form-data parsing (see multipart.h). One forward pass: memmem()
// (glibc's is linear in the body, whatever the boundary) finds each delimiter
// once, header lines are split with memchr(), and nothing is rescanned, so an
// input full of near-boundaries stays linear. Part data is never copied; the
// few names and filenames that need decoding are noted during the pass and
// decoded into the caller's scratch string after it, reserved once.
#include "http/multipart.h"
#include "http/request.h"
#include "http/text.h"

#include <string.h>

#include "core/hex.h"

namespace rover::http {
namespace {

constexpr size_t kMaxBoundaryBytes = 70;  // RFC 2046 §5.1.1


// RFC 2046 bcharsnospace (space is allowed, except last).
bool isBoundaryChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool validBoundary(std::string_view b) {
  if (b.empty() || b.size() > kMaxBoundaryBytes || b.back() == ' ') return false;
  for (char c : b) {
    if (!isBoundaryChar(c)) return false;
  }
  return true;
}


// a == b ignoring ASCII case; b is lower-case.


size_t skipOws(std::string_view s, size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
  return pos;
}

size_t skipToken(std::string_view s, size_t pos) {
  while (pos < s.size() && isTokenChar(s[pos])) ++pos;
  return pos;
}

struct Param {
  std::string_view name;
  std::string_view value;  // quoted-string: the text between the quotes, still escaped
  bool quoted = false;
  bool escaped = false;  // quoted with at least one backslash escape
};

// Parses `*( OWS ";" OWS [ name OWS "=" OWS ( token / quoted-string ) ] ) OWS`
// (empty parameters tolerated, as browsers never send them but some clients
// leave a trailing ';'). visit(const Param&) returns false to stop. Returns
// false on a syntax error or when visit stopped.
template <typename Visit>
bool forEachParam(std::string_view s, Visit&& visit) {
  size_t pos = skipOws(s, 0);
  while (pos < s.size()) {
    if (s[pos] != ';') return false;
    pos = skipOws(s, pos + 1);
    if (pos == s.size() || s[pos] == ';') continue;
    Param p;
    size_t end = skipToken(s, pos);
    if (end == pos) return false;
    p.name = s.substr(pos, end - pos);
    pos = skipOws(s, end);
    if (pos == s.size() || s[pos] != '=') return false;
    pos = skipOws(s, pos + 1);
    if (pos < s.size() && s[pos] == '"') {
      size_t start = ++pos;
      while (pos < s.size() && s[pos] != '"') {
        if (s[pos] == '\\') {
          if (++pos == s.size()) return false;
          p.escaped = true;
        }
        ++pos;
      }
      if (pos == s.size()) return false;  // unterminated
      p.value = s.substr(start, pos - start);
      p.quoted = true;
      ++pos;
    } else {
      end = skipToken(s, pos);
      if (end == pos) return false;
      p.value = s.substr(pos, end - pos);
      pos = end;
    }
    if (!visit(static_cast<const Param&>(p))) return false;
    pos = skipOws(s, pos);
  }
  return true;
}

// A name or filename to decode into scratch once the pass is over.
struct Pending {
  enum class Kind : uint8_t { kQuoted, kUtf8, kLatin1 };
  size_t part;  // index into *parts
  bool filename;
  Kind kind;
  std::string_view raw;  // quoted: between the quotes; ext-value: the pct-encoded chars
};

// RFC 8187 ext-value: charset "'" [ language ] "'" value-chars. Returns false
// (the parameter is then ignored) for another charset or a bad %-sequence.
bool parseExtValue(std::string_view v, Pending::Kind* kind, std::string_view* chars) {
  size_t q1 = v.find('\'');
  if (q1 == std::string_view::npos) return false;
  size_t q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return false;
  std::string_view charset = v.substr(0, q1);
  if (equalsIgnoreCase(charset, "utf-8")) {
    *kind = Pending::Kind::kUtf8;
  } else if (equalsIgnoreCase(charset, "iso-8859-1")) {
    *kind = Pending::Kind::kLatin1;
  } else {
    return false;
  }
  *chars = v.substr(q2 + 1);
  return core::isValidPercentEncoding(*chars);
}

// Appends the decoded form of p to *out; never longer than p.raw (a %XX of
// ISO-8859-1 gives at most 2 UTF-8 bytes), so the reserve in parseMultipart holds.
void decodePending(const Pending& p, std::string* out) {
  std::string_view raw = p.raw;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (p.kind == Pending::Kind::kQuoted) {
      out->push_back(c == '\\' ? raw[++i] : c);  // forEachParam: never a trailing '\'
      continue;
    }
    auto byte = static_cast<unsigned char>(c);
    if (c == '%') {
      byte =
          static_cast<unsigned char>(core::hexValue(raw[i + 1]) * 16 + core::hexValue(raw[i + 2]));
      i += 2;
    }
    if (p.kind == Pending::Kind::kLatin1 && byte >= 0x80) {
      out->push_back(static_cast<char>(0xC0 | byte >> 6));
      out->push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    } else {
      out->push_back(static_cast<char>(byte));
    }
  }
}

// One parse: the body, its delimiter (CRLF "--" boundary) and the output.
class Parser {
 public:
  Parser(std::string_view body, std::string_view delimiter, const MultipartLimits& limits,
         std::vector<FormPart>* parts, std::vector<Pending>* pending)
      : body_(body), delim_(delimiter), limits_(limits), parts_(parts), pending_(pending) {}

  FormError run();

 private:
  size_t findDelimiter(size_t from) const;
  FormError parseHeaders(size_t* pos, FormPart* part);
  bool parseDisposition(std::string_view value, FormPart* part);

  std::string_view body_;
  std::string_view delim_;
  const MultipartLimits& limits_;
  std::vector<FormPart>* parts_;
  std::vector<Pending>* pending_;
};

size_t Parser::findDelimiter(size_t from) const {
  if (body_.size() - from < delim_.size())
    return std::string_view::npos;  // also: no null to memmem
  const void* hit = memmem(body_.data() + from, body_.size() - from, delim_.data(), delim_.size());
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - body_.data())
             : std::string_view::npos;
}

FormError Parser::run() {
  std::string_view dash_boundary = delim_.substr(2);
  size_t pos;
  if (body_.starts_with(dash_boundary)) {
    pos = dash_boundary.size();  // RFC 2046: the first delimiter's CRLF is optional
  } else {
    size_t hit = findDelimiter(0);  // skips the preamble
    if (hit == std::string_view::npos) return FormError::kMalformed;
    pos = hit + delim_.size();
  }
  for (;;) {                                                    // pos: just after a delimiter
    if (body_.substr(pos, 2) == "--") return FormError::kNone;  // close; the epilogue is ignored
    pos = skipOws(body_, pos);                                  // transport padding
    if (body_.substr(pos, 2) != "\r\n") return FormError::kMalformed;
    pos += 2;
    if (parts_->size() == limits_.max_parts) return FormError::kTooManyParts;
    FormPart part;
    if (FormError e = parseHeaders(&pos, &part); e != FormError::kNone) return e;
    size_t end = findDelimiter(pos);
    if (end == std::string_view::npos) return FormError::kMalformed;  // never closed
    part.data = body_.substr(pos, end - pos);
    if (part.has_filename && part.data.size() > limits_.max_file_bytes) {
      return FormError::kFileTooLarge;
    }
    parts_->push_back(part);
    pos = end + delim_.size();
  }
}

// Header lines from *pos up to and including the empty line; *pos ends at the
// first byte of the part's body.
FormError Parser::parseHeaders(size_t* pos, FormPart* part) {
  bool seen_disposition = false, seen_type = false;
  std::string_view dash_boundary = delim_.substr(2);
  for (;;) {
    if (*pos == body_.size()) return FormError::kMalformed;
    const void* nl = memchr(body_.data() + *pos, '\n', body_.size() - *pos);
    if (!nl) return FormError::kMalformed;
    size_t lf = static_cast<size_t>(static_cast<const char*>(nl) - body_.data());
    if (lf == *pos || body_[lf - 1] != '\r') return FormError::kMalformed;  // bare LF
    std::string_view line = body_.substr(*pos, lf - 1 - *pos);
    *pos = lf + 1;
    if (line.empty()) break;
    // A delimiter inside the header section means the part ended early.
    if (line.find('\r') != std::string_view::npos || line.starts_with(dash_boundary)) {
      return FormError::kMalformed;
    }
    size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() || skipToken(name, 0) != name.size()) {
      return FormError::kMalformed;  // also obs-fold (a line starting with SP/HT)
    }
    std::string_view value = trimOws(line.substr(colon + 1));
    if (equalsIgnoreCase(name, "content-disposition")) {
      if (seen_disposition || !parseDisposition(value, part)) return FormError::kMalformed;
      seen_disposition = true;
    } else if (equalsIgnoreCase(name, "content-type")) {
      if (seen_type) return FormError::kMalformed;
      seen_type = true;
      part->content_type = value;
    }
  }
  return seen_disposition ? FormError::kNone : FormError::kMalformed;
}

// `form-data; name="x"; filename="y"; filename*=UTF-8''z` (RFC 7578 §4.2).
bool Parser::parseDisposition(std::string_view value, FormPart* part) {
  size_t end = skipToken(value, 0);
  if (!equalsIgnoreCase(value.substr(0, end), "form-data")) return false;
  Param name, filename, filename_ext;
  bool has_name = false, has_filename = false, has_ext = false;
  bool ok = forEachParam(value.substr(end), [&](const Param& p) {
    auto take = [&](Param* slot, bool* seen) {
      if (*seen) return false;  // a repeated parameter is ambiguous
      *slot = p;
      *seen = true;
      return true;
    };
    if (equalsIgnoreCase(p.name, "name")) return take(&name, &has_name);
    if (equalsIgnoreCase(p.name, "filename")) return take(&filename, &has_filename);
    if (equalsIgnoreCase(p.name, "filename*")) return take(&filename_ext, &has_ext);
    return true;
  });
  if (!ok || !has_name || name.value.empty()) return false;
  size_t index = parts_->size();
  part->name = name.value;
  if (name.escaped) pending_->push_back({index, false, Pending::Kind::kQuoted, name.value});
  Pending::Kind kind;
  std::string_view chars;
  if (has_ext && !filename_ext.quoted && parseExtValue(filename_ext.value, &kind, &chars)) {
    part->has_filename = true;
    pending_->push_back({index, true, kind, chars});
  } else if (has_filename) {
    part->has_filename = true;
    part->filename = filename.value;
    if (filename.escaped) {
      pending_->push_back({index, true, Pending::Kind::kQuoted, filename.value});
    }
  }
  return true;
}

}  // namespace

FormError multipartBoundary(std::string_view content_type, std::string_view* boundary) {
  if (!equalsIgnoreCase(mediaType(content_type), "multipart/form-data")) {
    return FormError::kNotMultipart;
  }
  size_t semi = content_type.find(';');
  if (semi == std::string_view::npos) return FormError::kBadBoundary;
  std::string_view found;
  bool seen = false;
  bool ok = forEachParam(content_type.substr(semi), [&](const Param& p) {
    if (!equalsIgnoreCase(p.name, "boundary")) return true;
    if (seen || p.escaped) return false;
    found = p.value;
    seen = true;
    return true;
  });
  if (!ok || !seen || !validBoundary(found)) return FormError::kBadBoundary;
  *boundary = found;
  return FormError::kNone;
}

bool isUrlencodedForm(std::string_view content_type) {
  return equalsIgnoreCase(mediaType(content_type), "application/x-www-form-urlencoded");
}

FormError parseMultipart(std::string_view body, std::string_view boundary,
                         const MultipartLimits& limits, std::vector<FormPart>* parts,
                         std::string* scratch) {
  parts->clear();
  scratch->clear();
  if (body.size() > limits.max_total_bytes) return FormError::kTooLarge;
  if (!validBoundary(boundary)) return FormError::kBadBoundary;
  char buf[4 + kMaxBoundaryBytes] = {'\r', '\n', '-', '-'};
  memcpy(buf + 4, boundary.data(), boundary.size());
  std::string_view delimiter(buf, 4 + boundary.size());

  thread_local std::vector<Pending> pending;  // reused: no allocation in steady state
  pending.clear();
  FormError e = Parser(body, delimiter, limits, parts, &pending).run();
  if (e != FormError::kNone) {
    parts->clear();
    return e;
  }
  size_t bound = 0;
  for (const Pending& p : pending) bound += p.raw.size();
  scratch->reserve(bound);  // no reallocation below, so earlier views stay valid
  for (const Pending& p : pending) {
    size_t start = scratch->size();
    decodePending(p, scratch);
    std::string_view decoded(scratch->data() + start, scratch->size() - start);
    FormPart& part = (*parts)[p.part];
    (p.filename ? part.filename : part.name) = decoded;
  }
  return FormError::kNone;
}

int formErrorStatus(FormError error) {
  switch (error) {
    case FormError::kNone:
      return 0;
    case FormError::kNotMultipart:
      return 415;
    case FormError::kBadBoundary:
    case FormError::kMalformed:
      return 400;
    case FormError::kTooManyParts:
    case FormError::kFileTooLarge:
    case FormError::kTooLarge:
      return 413;
  }
  return 400;
}

std::string_view formErrorMessage(FormError error) {
  switch (error) {
    case FormError::kNone:
      return "OK";
    case FormError::kNotMultipart:
      return "Unsupported Media Type (415): expected multipart/form-data";
    case FormError::kBadBoundary:
      return "Invalid multipart/form-data boundary in Content-Type";
    case FormError::kMalformed:
      return "Malformed multipart/form-data body";
    case FormError::kTooManyParts:
      return "Too many parts in multipart/form-data body";
    case FormError::kFileTooLarge:
      return "Uploaded file too large";
    case FormError::kTooLarge:
      return "Request body too large for multipart/form-data";
  }
  return "Malformed multipart/form-data body";
}

}  // namespace rover::http

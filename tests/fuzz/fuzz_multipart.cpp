// libFuzzer target: http::parseMultipart and http::multipartBoundary. Input:
// one control byte, then by (control % 3)
//   0: a body with the fixed boundary "----fuzzb";
//   1: a length byte, that many boundary bytes (0..71, so invalid ones too), the body;
//   2: a Content-Type line up to '\n' (through multipartBoundary), the body.
// Each body is parsed with the default limits and with small ones. Invariants:
// no crash; views lie inside the body (names and filenames: or the scratch);
// parts <= max_parts, file parts <= max_file_bytes; on success each part's data
// is followed by CRLF "--" boundary; on an error no parts; a second parse into
// the same outputs gives the same result; the small limits only add errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/multipart.h"
#include "http/query.h"

namespace {

using rover::http::FormError;
using rover::http::FormPart;
using rover::http::MultipartLimits;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_multipart: invariant broken: %s\n", what);
  std::abort();
}

bool inside(std::string_view v, std::string_view whole) {
  return v.data() >= whole.data() && v.data() + v.size() <= whole.data() + whole.size();
}

struct Outcome {
  FormError error = FormError::kNone;
  std::vector<FormPart> parts;
  std::string scratch;
};

void parse(std::string_view body, std::string_view boundary, const MultipartLimits& limits,
           Outcome* out) {
  out->error = rover::http::parseMultipart(body, boundary, limits, &out->parts, &out->scratch);
  check(out->parts.size() <= limits.max_parts, "parts <= max_parts");
  if (out->error != FormError::kNone) check(out->parts.empty(), "no parts after an error");
  if (body.size() > limits.max_total_bytes) check(out->error == FormError::kTooLarge, "kTooLarge");
  std::string delimiter = "\r\n--" + std::string(boundary);
  for (const FormPart& p : out->parts) {
    check(inside(p.data, body), "data inside the body");
    check(!p.name.empty(), "name not empty");
    check(inside(p.name, body) || inside(p.name, out->scratch), "name inside body or scratch");
    check(p.filename.empty() || inside(p.filename, body) || inside(p.filename, out->scratch),
          "filename inside body or scratch");
    check(p.has_filename || p.filename.empty(), "filename only on file parts");
    check(p.content_type.empty() || inside(p.content_type, body), "content type inside body");
    check(!p.has_filename || p.data.size() <= limits.max_file_bytes, "file <= max_file_bytes");
    size_t end = static_cast<size_t>(p.data.data() + p.data.size() - body.data());
    check(body.substr(end, delimiter.size()) == delimiter, "data ends at a delimiter");
  }
}

bool samePart(const FormPart& a, const FormPart& b) {
  return a.name == b.name && a.filename == b.filename && a.has_filename == b.has_filename &&
         a.content_type == b.content_type && a.data.data() == b.data.data() &&
         a.data.size() == b.data.size();
}

void run(std::string_view body, std::string_view boundary) {
  Outcome full;
  parse(body, boundary, MultipartLimits{}, &full);

  // Same outputs again: cleared and refilled identically (compared through owned
  // copies, since the first parse's names may point into the reused scratch).
  struct Owned {
    std::string name, filename, content_type;
    bool has_filename;
    std::string_view data;
  };
  std::vector<Owned> first;
  for (const FormPart& p : full.parts) {
    first.push_back({std::string(p.name), std::string(p.filename), std::string(p.content_type),
                     p.has_filename, p.data});
  }
  FormError first_error = full.error;
  parse(body, boundary, MultipartLimits{}, &full);
  check(full.error == first_error && full.parts.size() == first.size(), "deterministic");
  for (size_t i = 0; i < first.size(); ++i) {
    const FormPart& p = full.parts[i];
    const Owned& o = first[i];
    check(p.name == o.name && p.filename == o.filename && p.content_type == o.content_type &&
              p.has_filename == o.has_filename && p.data.data() == o.data.data() &&
              p.data.size() == o.data.size(),
          "same parts on a second parse");
  }

  MultipartLimits small;
  small.max_parts = 4;
  small.max_file_bytes = 32;
  small.max_total_bytes = 2048;
  Outcome tight;
  parse(body, boundary, small, &tight);
  if (tight.error == FormError::kNone) {
    check(full.error == FormError::kNone && full.parts.size() == tight.parts.size(),
          "small limits accept only what the defaults accept");
    for (size_t i = 0; i < tight.parts.size(); ++i) {
      check(samePart(tight.parts[i], full.parts[i]), "same parts under both limits");
    }
  } else if (tight.error == FormError::kMalformed || tight.error == FormError::kBadBoundary) {
    check(full.error == tight.error, "syntax errors do not depend on the limits");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      run(in, "----fuzzb");
      break;
    case 1: {
      if (in.empty()) return 0;
      size_t n = static_cast<uint8_t>(in[0]) % 72;
      in.remove_prefix(1);
      if (n > in.size()) return 0;
      run(in.substr(n), in.substr(0, n));
      break;
    }
    default: {
      size_t nl = in.find('\n');
      if (nl == std::string_view::npos) return 0;
      std::string_view content_type = in.substr(0, nl), body = in.substr(nl + 1);
      std::string_view boundary;
      FormError e = rover::http::multipartBoundary(content_type, &boundary);
      if (e == FormError::kNone) {
        check(inside(boundary, content_type), "boundary inside the Content-Type");
        check(!boundary.empty() && boundary.size() <= 70, "boundary 1..70 bytes");
        run(body, boundary);
      } else if (rover::http::isUrlencodedForm(content_type)) {
        check(e == FormError::kNotMultipart, "urlencoded is not multipart");
        rover::http::forEachQueryPair(body, [](std::string_view n, std::string_view) {
          check(!n.empty(), "urlencoded names not empty");
        });
      }
      break;
    }
  }
  return 0;
}

#include "http/multipart.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/query.h"

namespace rover::http {
namespace {

using namespace std::string_literals;

constexpr std::string_view kB = "XyZ";

// One parse; not movable, since parts may point into scratch.
struct Parsed {
  Parsed() = default;
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  // The body is kept (callers may pass a temporary): the parts are views into it.
  FormError run(std::string_view given, std::string_view boundary = kB,
                const MultipartLimits& limits = {}) {
    owned.assign(given.data(), given.size());
    std::string_view body = owned;
    error = parseMultipart(body, boundary, limits, &parts, &scratch);
    for (const FormPart& p : parts) {
      EXPECT_TRUE(inside(p.data, body)) << "data must be a view into the body";
      EXPECT_TRUE(inside(p.name, body) || inside(p.name, scratch));
      EXPECT_TRUE(inside(p.filename, body) || inside(p.filename, scratch) || p.filename.empty());
      EXPECT_TRUE(inside(p.content_type, body) || p.content_type.empty());
      EXPECT_FALSE(p.name.empty());
    }
    if (error != FormError::kNone) {
      EXPECT_TRUE(parts.empty());
    }
    return error;
  }
  static bool inside(std::string_view v, std::string_view whole) {
    return v.data() >= whole.data() && v.data() + v.size() <= whole.data() + whole.size();
  }

  FormError error = FormError::kNone;
  std::vector<FormPart> parts;
  std::string scratch;
  std::string owned;  // the body parsed last
};

// A body of parts, each given as its header lines (without CRLFs) and data.
struct Part {
  std::string headers;
  std::string data;
};
std::string build(const std::vector<Part>& parts, std::string_view boundary = kB) {
  std::string out;
  for (const Part& p : parts) {
    out += "--" + std::string(boundary) + "\r\n" + p.headers + "\r\n\r\n" + p.data + "\r\n";
  }
  return out + "--" + std::string(boundary) + "--\r\n";
}
Part field(std::string name, std::string data) {
  return {"Content-Disposition: form-data; name=\"" + name + "\"", std::move(data)};
}
Part file(std::string name, std::string filename, std::string data) {
  return {"Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename +
              "\"\r\nContent-Type: application/octet-stream",
          std::move(data)};
}

FormError boundaryOf(std::string_view content_type, std::string* out = nullptr) {
  std::string_view b = "unchanged";
  FormError e = multipartBoundary(content_type, &b);
  if (out) *out = std::string(b);
  return e;
}

// --- multipartBoundary -----------------------------------------------------

TEST(MultipartBoundary, TokenAndQuoted) {
  std::string b;
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk", &b),
            FormError::kNone);
  EXPECT_EQ(b, "----WebKitFormBoundary7MA4YWxk");
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary=\"a b:c=d?e\"", &b), FormError::kNone);
  EXPECT_EQ(b, "a b:c=d?e");  // bchars that need quoting
  EXPECT_EQ(boundaryOf("Multipart/Form-Data ;BOUNDARY=abc", &b), FormError::kNone);
  EXPECT_EQ(b, "abc");
  EXPECT_EQ(boundaryOf("multipart/form-data; charset=utf-8; boundary=x1 ; other=\"q;r\"", &b),
            FormError::kNone);
  EXPECT_EQ(b, "x1");
  EXPECT_EQ(boundaryOf("multipart/form-data;boundary=abc;", &b), FormError::kNone);
  EXPECT_EQ(b, "abc");
}

TEST(MultipartBoundary, ViewIntoContentType) {
  std::string ct = "multipart/form-data; boundary=\"zz\"";
  std::string_view b;
  ASSERT_EQ(multipartBoundary(ct, &b), FormError::kNone);
  EXPECT_EQ(b.data(), ct.data() + ct.find("zz"));
}

TEST(MultipartBoundary, LengthLimits) {
  std::string b;
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary=" + std::string(70, 'a'), &b),
            FormError::kNone);
  EXPECT_EQ(b.size(), 70u);
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary=" + std::string(71, 'a')),
            FormError::kBadBoundary);
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary=a"), FormError::kNone);
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary=\"\""), FormError::kBadBoundary);
  EXPECT_EQ(boundaryOf("multipart/form-data; boundary="), FormError::kBadBoundary);
}

TEST(MultipartBoundary, AbsentOrInvalid) {
  for (std::string_view ct : {
           "multipart/form-data",
           "multipart/form-data;",
           "multipart/form-data; charset=utf-8",
           "multipart/form-data; boundary=\"abc ",    // trailing space
           "multipart/form-data; boundary=\"abc\"x",  // junk after the quoted string
           "multipart/form-data; boundary=\"unterminated",
           "multipart/form-data; boundary=a@b",         // not a token
           "multipart/form-data; boundary=\"a@b\"",     // not a bchar
           "multipart/form-data; boundary=\"a\\\"b\"",  // escaped: no bchar needs it
           "multipart/form-data; boundary=a; boundary=b",
           "multipart/form-data; =abc",
           "multipart/form-data; boundary",
       }) {
    EXPECT_EQ(boundaryOf(ct), FormError::kBadBoundary) << ct;
  }
}

TEST(MultipartBoundary, NotMultipart) {
  for (std::string_view ct :
       {"", "application/json", "multipart/mixed; boundary=abc",
        "application/x-www-form-urlencoded", "multipart/form-data-x", "text/plain; boundary=abc"}) {
    std::string b;
    EXPECT_EQ(boundaryOf(ct, &b), FormError::kNotMultipart) << ct;
    EXPECT_EQ(b, "unchanged");
  }
}

// --- parseMultipart: bodies ------------------------------------------------

TEST(Multipart, BrowserBody) {
  const std::string binary = "\x89PNG\r\n\x1a\n\0\0--\r\n--XyY\n--XyZ\r--\r\n\r\n-"s;
  std::string body =
      "------WebKitFormBoundaryQ\r\n"
      "Content-Disposition: form-data; name=\"title\"\r\n"
      "\r\n"
      "Hello, world\r\n"
      "------WebKitFormBoundaryQ\r\n"
      "Content-Disposition: form-data; name=\"notes\"\r\n"
      "\r\n"
      "line 1\r\nline 2\r\n"
      "------WebKitFormBoundaryQ\r\n"
      "Content-Disposition: form-data; name=\"doc\"; filename=\"readme.txt\"\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "read me\n\r\n"
      "------WebKitFormBoundaryQ\r\n"
      "Content-Disposition: form-data; name=\"image\"; filename=\"dot.png\"\r\n"
      "Content-Type: image/png\r\n"
      "\r\n" +
      binary +
      "\r\n"
      "------WebKitFormBoundaryQ--\r\n";
  std::string_view boundary;
  ASSERT_EQ(multipartBoundary("multipart/form-data; boundary=----WebKitFormBoundaryQ", &boundary),
            FormError::kNone);
  Parsed p;
  ASSERT_EQ(p.run(body, boundary), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 4u);
  EXPECT_EQ(p.parts[0].name, "title");
  EXPECT_FALSE(p.parts[0].has_filename);
  EXPECT_EQ(p.parts[0].content_type, "");
  EXPECT_EQ(p.parts[0].data, "Hello, world");
  EXPECT_EQ(p.parts[1].name, "notes");
  EXPECT_EQ(p.parts[1].data, "line 1\r\nline 2");
  EXPECT_EQ(p.parts[2].name, "doc");
  EXPECT_TRUE(p.parts[2].has_filename);
  EXPECT_EQ(p.parts[2].filename, "readme.txt");
  EXPECT_EQ(p.parts[2].content_type, "text/plain");
  EXPECT_EQ(p.parts[2].data, "read me\n");
  EXPECT_EQ(p.parts[3].name, "image");
  EXPECT_EQ(p.parts[3].filename, "dot.png");
  EXPECT_EQ(p.parts[3].content_type, "image/png");
  EXPECT_EQ(p.parts[3].data, binary);
  // Never copied: the data is the body's own bytes.
  EXPECT_EQ(p.parts[3].data.data(), p.owned.data() + p.owned.find("\x89PNG"));
  EXPECT_TRUE(p.scratch.empty());
}

TEST(Multipart, PreambleAndEpilogueIgnored) {
  std::string body =
      "This is the preamble, --XyZ\r\n"  // not a delimiter: no CRLF before it
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=a\r\n\r\n"
      "1\r\n"
      "--XyZ--\r\n"
      "This is the epilogue.\r\n--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n2";
  Parsed p;
  ASSERT_EQ(p.run(body), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 1u);
  EXPECT_EQ(p.parts[0].name, "a");
  EXPECT_EQ(p.parts[0].data, "1");
}

TEST(Multipart, FirstDelimiterWithOrWithoutCrlf) {
  std::string at_start = build({field("a", "1")});
  Parsed p;
  ASSERT_EQ(p.run(at_start), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 1u);
  Parsed q;
  ASSERT_EQ(q.run("\r\n" + at_start), FormError::kNone);  // empty preamble
  ASSERT_EQ(q.parts.size(), 1u);
  EXPECT_EQ(q.parts[0].data, "1");
}

TEST(Multipart, CloseWithoutEndOfLineOrWithAnything) {
  Parsed p;
  EXPECT_EQ(p.run("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--"),
            FormError::kNone);
  ASSERT_EQ(p.parts.size(), 1u);
  EXPECT_EQ(p.parts[0].data, "v");
  EXPECT_EQ(p.run("--XyZ--"), FormError::kNone);  // no parts at all
  EXPECT_TRUE(p.parts.empty());
  EXPECT_EQ(p.run("--XyZ--garbage\n\n"), FormError::kNone);
}

TEST(Multipart, TransportPadding) {
  std::string body =
      "--XyZ \t \r\n"
      "Content-Disposition: form-data; name=a\r\n\r\n"
      "1\r\n"
      "--XyZ\t\r\n"
      "Content-Disposition: form-data; name=b\r\n\r\n"
      "2\r\n"
      "--XyZ--  \r\n";
  Parsed p;
  ASSERT_EQ(p.run(body), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(p.parts[1].data, "2");
}

TEST(Multipart, ParametersQuotedTokenAnyOrderAnyCase) {
  std::string body = build({
      {"content-disposition: form-data; filename=a.txt; name=up", "x"},
      {"CONTENT-DISPOSITION:Form-Data ;NAME = \"f\" ; FileName= \"b c.txt\" ;size=3", "y"},
      {"Content-Type:  text/plain; charset=utf-8  \r\nX-Other: ignored\r\n"
       "Content-Transfer-Encoding: base64\r\nContent-Disposition: form-data; name=t",
       "z"},
  });
  Parsed p;
  ASSERT_EQ(p.run(body), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[0].name, "up");
  EXPECT_EQ(p.parts[0].filename, "a.txt");
  EXPECT_TRUE(p.parts[0].has_filename);
  EXPECT_EQ(p.parts[1].name, "f");
  EXPECT_EQ(p.parts[1].filename, "b c.txt");
  EXPECT_EQ(p.parts[2].name, "t");
  EXPECT_FALSE(p.parts[2].has_filename);
  EXPECT_EQ(p.parts[2].content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(p.parts[2].data, "z");
}

TEST(Multipart, QuotedEscapesDecodedIntoScratch) {
  std::vector<Part> parts;
  for (int i = 0; i < 20; ++i) {  // many decoded strings: the scratch must not move under them
    std::string n = std::to_string(i);
    parts.push_back({"Content-Disposition: form-data; name=\"n\\\"" + n + "\"; filename=\"C:\\\\" +
                         n + ".txt\"",
                     n});
  }
  Parsed p;
  ASSERT_EQ(p.run(build(parts)), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    std::string n = std::to_string(i);
    EXPECT_EQ(p.parts[i].name, "n\"" + n);
    EXPECT_EQ(p.parts[i].filename, "C:\\" + n + ".txt");
    EXPECT_TRUE(Parsed::inside(p.parts[i].name, p.scratch));
    EXPECT_TRUE(Parsed::inside(p.parts[i].filename, p.scratch));
  }
}

TEST(Multipart, BrowserStylePercentEscapesKeptLiterally) {
  // HTML encodes '"' as %22 in filenames; RFC 7578 §4.2 says not to decode filename=.
  Parsed p;
  ASSERT_EQ(p.run(build({file("f", "a%22b.txt", "")})), FormError::kNone);
  EXPECT_EQ(p.parts[0].filename, "a%22b.txt");
}

TEST(Multipart, FilenameStar) {
  std::string body = build({
      {"Content-Disposition: form-data; name=a; filename=\"EUR rates.txt\"; "
       "filename*=UTF-8''%e2%82%ac%20rates.txt",
       "1"},
      {"Content-Disposition: form-data; filename*=iso-8859-1'en'%A3%20rates; name=b", "2"},
      {"Content-Disposition: form-data; name=c; filename*=UTF-8''only.txt", "3"},
      {"Content-Disposition: form-data; name=d; filename*=KOI8-R''%C1; filename=fallback", "4"},
      {"Content-Disposition: form-data; name=e; filename=fb; filename*=UTF-8''bad%zz", "5"},
      {"Content-Disposition: form-data; name=f; filename*=no-quotes", "6"},
  });
  Parsed p;
  ASSERT_EQ(p.run(body), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 6u);
  EXPECT_EQ(p.parts[0].filename, "\xE2\x82\xAC rates.txt");  // filename* wins
  EXPECT_EQ(p.parts[1].filename, "\xC2\xA3 rates");          // ISO-8859-1 -> UTF-8
  EXPECT_EQ(p.parts[2].filename, "only.txt");
  EXPECT_TRUE(p.parts[2].has_filename);
  EXPECT_EQ(p.parts[3].filename, "fallback");  // unknown charset: ignored
  EXPECT_EQ(p.parts[4].filename, "fb");        // bad %-sequence: ignored
  EXPECT_FALSE(p.parts[5].has_filename);       // not an ext-value: ignored
  EXPECT_EQ(p.parts[5].filename, "");
}

TEST(Multipart, EmptyBodiesAndEmptyFilename) {
  std::string body = build({field("a", ""), file("f", "", ""), field("b", "\r\n")});
  Parsed p;
  ASSERT_EQ(p.run(body), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[0].data, "");
  EXPECT_TRUE(Parsed::inside(p.parts[0].data, p.owned));
  EXPECT_TRUE(p.parts[1].has_filename);  // browsers send filename="" for an empty file input
  EXPECT_EQ(p.parts[1].filename, "");
  EXPECT_EQ(p.parts[1].data, "");
  EXPECT_EQ(p.parts[2].data, "\r\n");
}

TEST(Multipart, PartWithoutHeadersSectionLines) {
  // No headers at all: the empty line directly after the boundary line.
  Parsed p;
  EXPECT_EQ(p.run("--XyZ\r\n\r\ndata\r\n--XyZ--"), FormError::kMalformed);
}

TEST(Multipart, SameNameTwiceKeptInOrder) {
  Parsed p;
  ASSERT_EQ(p.run(build({field("tag", "a"), field("x", "-"), field("tag", "b"),
                         file("tag", "c.bin", "c")})),
            FormError::kNone);
  ASSERT_EQ(p.parts.size(), 4u);
  EXPECT_EQ(p.parts[0].data, "a");
  EXPECT_EQ(p.parts[2].name, "tag");
  EXPECT_EQ(p.parts[2].data, "b");
  EXPECT_EQ(p.parts[3].data, "c");
}

TEST(Multipart, LongestBoundary) {
  std::string b(70, 'q');
  b[10] = ' ';
  Parsed p;
  ASSERT_EQ(p.run(build({field("a", "1"), field("b", "2")}, b), b), FormError::kNone);
  EXPECT_EQ(p.parts.size(), 2u);
}

// --- parseMultipart: malformed ---------------------------------------------

TEST(Multipart, MissingFinalDelimiter) {
  std::string good = build({field("a", "1"), field("b", "2")});
  std::string cut = good.substr(0, good.size() - std::string("--XyZ--\r\n").size());
  Parsed p;
  EXPECT_EQ(p.run(cut), FormError::kMalformed);                              // ends "\r\n"
  EXPECT_EQ(p.run(cut.substr(0, cut.size() - 2)), FormError::kMalformed);    // ends in data
  EXPECT_EQ(p.run(good.substr(0, good.size() - 4)), FormError::kMalformed);  // "...--XyZ-"
  EXPECT_EQ(p.run(good.substr(0, good.size() - 5)), FormError::kMalformed);  // "...--XyZ"
  EXPECT_EQ(p.run("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"), FormError::kMalformed);
  EXPECT_EQ(p.run("--XyZ\r\n"), FormError::kMalformed);
  EXPECT_EQ(p.run("--XyZ"), FormError::kMalformed);
  EXPECT_EQ(p.run(""), FormError::kMalformed);
  EXPECT_EQ(p.run("no delimiter at all"), FormError::kMalformed);
  EXPECT_EQ(p.run(build({field("a", "1")}, "Other")), FormError::kMalformed);
}

TEST(Multipart, BadDispositions) {
  for (std::string headers : {
           "Content-Type: text/plain",  // no Content-Disposition
           "Content-Disposition: attachment; name=a",
           "Content-Disposition: form-data",
           "Content-Disposition: form-data; filename=a.txt",
           "Content-Disposition: form-data; name=\"\"",
           "Content-Disposition: form-data; name=",
           "Content-Disposition: form-data; name=\"a",
           "Content-Disposition: form-data; name=a b",
           "Content-Disposition: form-data; name=a; name=b",
           "Content-Disposition: form-data; name=a; filename=x; filename=y",
           "Content-Disposition: form-data name=a",
           "Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b",
           "Content-Disposition: form-data; name=a\r\nContent-Type: a\r\nContent-Type: b",
       }) {
    Parsed p;
    EXPECT_EQ(p.run(build({{headers, "v"}})), FormError::kMalformed) << headers;
  }
}

TEST(Multipart, BadHeaderLines) {
  for (std::string headers : {
           "Content-Disposition: form-data; name=a\r\nNoColon",
           "Content-Disposition: form-data; name=a\r\n: empty name",
           "Content-Disposition: form-data; name=a\r\nBad Name: x",
           "Content-Disposition: form-data;\r\n name=a",  // obs-fold
           "Content-Disposition: form-data; name=a\rX: y",
           "Content-Disposition: form-data; name=a\r\n--XyZ: looks like a header",
       }) {
    Parsed p;
    EXPECT_EQ(p.run(build({{headers, "v"}})), FormError::kMalformed) << headers;
  }
}

TEST(Multipart, LfOnlyRejected) {
  Parsed p;
  EXPECT_EQ(p.run("--XyZ\nContent-Disposition: form-data; name=a\n\nv\n--XyZ--\n"),
            FormError::kMalformed);
  EXPECT_EQ(p.run("--XyZ\r\nContent-Disposition: form-data; name=a\n\r\nv\r\n--XyZ--"),
            FormError::kMalformed);
  EXPECT_EQ(p.run("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\nv\r\n--XyZ--"),
            FormError::kMalformed);
}

TEST(Multipart, DelimiterPrefixInsideDataIsMalformed) {
  // RFC 2046: the delimiter must not occur in a part; "--XyZW" contains it.
  Parsed p;
  EXPECT_EQ(p.run(build({field("a", "x\r\n--XyZW")})), FormError::kMalformed);
  EXPECT_EQ(p.run("--XyZjunk\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--"),
            FormError::kMalformed);
  // ...but a near-boundary is data.
  ASSERT_EQ(p.run(build({field("a", "x\r\n--XyY\r\n-XyZ\r\n--xyz")})), FormError::kNone);
  EXPECT_EQ(p.parts[0].data, "x\r\n--XyY\r\n-XyZ\r\n--xyz");
}

TEST(Multipart, InvalidBoundaryArgument) {
  std::string body = build({field("a", "1")});
  Parsed p;
  EXPECT_EQ(p.run(body, ""), FormError::kBadBoundary);
  EXPECT_EQ(p.run(body, std::string(71, 'a')), FormError::kBadBoundary);
  EXPECT_EQ(p.run(body, "a\rb"), FormError::kBadBoundary);
}

// --- limits ----------------------------------------------------------------

TEST(MultipartLimits, DefaultsFollowTheSpec) {
  MultipartLimits l;
  EXPECT_EQ(l.max_parts, 100u);
  EXPECT_EQ(l.max_file_bytes, 10u * 1024 * 1024);
  EXPECT_EQ(l.max_total_bytes, 50u * 1024 * 1024);
}

TEST(MultipartLimits, PartsAtAndOnePast) {
  std::vector<Part> parts;
  for (int i = 0; i < 100; ++i) parts.push_back(field("f" + std::to_string(i), "v"));
  Parsed p;
  ASSERT_EQ(p.run(build(parts)), FormError::kNone);
  EXPECT_EQ(p.parts.size(), 100u);
  parts.push_back(field("one_more", "v"));
  EXPECT_EQ(p.run(build(parts)), FormError::kTooManyParts);
  MultipartLimits two;
  two.max_parts = 2;
  EXPECT_EQ(p.run(build({field("a", ""), field("b", "")}), kB, two), FormError::kNone);
  EXPECT_EQ(p.run(build({field("a", ""), field("b", ""), field("c", "")}), kB, two),
            FormError::kTooManyParts);
}

TEST(MultipartLimits, FileBytesAtAndOnePast) {
  MultipartLimits l;
  l.max_file_bytes = 16;
  Parsed p;
  ASSERT_EQ(p.run(build({file("f", "a.bin", std::string(16, '\0'))}), kB, l), FormError::kNone);
  EXPECT_EQ(p.parts[0].data.size(), 16u);
  EXPECT_EQ(p.run(build({file("f", "a.bin", std::string(17, '\0'))}), kB, l),
            FormError::kFileTooLarge);
  // Text fields are bounded by the total only.
  EXPECT_EQ(p.run(build({field("t", std::string(17, 'x'))}), kB, l), FormError::kNone);
}

TEST(MultipartLimits, DefaultFileLimit) {
  Parsed p;
  std::string at = build({file("f", "big", std::string(size_t{10} << 20, 'x'))});
  EXPECT_EQ(p.run(at), FormError::kNone);
  std::string past = build({file("f", "big", std::string((size_t{10} << 20) + 1, 'x'))});
  EXPECT_EQ(p.run(past), FormError::kFileTooLarge);
}

TEST(MultipartLimits, TotalBytesAtAndOnePastCheckedFirst) {
  std::string body = build({field("a", "1")});
  MultipartLimits l;
  l.max_total_bytes = body.size();
  Parsed p;
  EXPECT_EQ(p.run(body, kB, l), FormError::kNone);
  l.max_total_bytes = body.size() - 1;
  EXPECT_EQ(p.run(body, kB, l), FormError::kTooLarge);
  // Checked before anything else: even a bad boundary or a garbage body.
  EXPECT_EQ(p.run(std::string(body.size(), '\0'), "", l), FormError::kTooLarge);
}

// --- reuse, linear time, errors --------------------------------------------

TEST(Multipart, ReusesOutputsAndClearsOnError) {
  Parsed p;
  ASSERT_EQ(p.run(build({field("a\\\"", "1"), field("b", "2")})), FormError::kNone);
  p.scratch = "stale";
  const FormPart* storage = p.parts.data();
  ASSERT_EQ(p.run(build({field("c", "3")})), FormError::kNone);
  ASSERT_EQ(p.parts.size(), 1u);
  EXPECT_EQ(p.parts.data(), storage);  // capacity reused
  EXPECT_TRUE(p.scratch.empty());
  EXPECT_EQ(p.run(build({field("c", "3"), field("", "")})), FormError::kMalformed);
  EXPECT_TRUE(p.parts.empty());
}

TEST(Multipart, ManyNearBoundariesStayLinear) {
  // 4 MiB of CRLF "--" + all but the last boundary char: a naive search would
  // compare ~70 bytes at each of them; memmem stays linear.
  std::string b(70, 'b');
  std::string near = "\r\n--" + b.substr(0, 69) + "c";
  std::string data;
  while (data.size() < (size_t{4} << 20)) data += near;
  Parsed p;
  ASSERT_EQ(p.run(build({file("f", "x", data)}, b), b), FormError::kNone);
  EXPECT_EQ(p.parts[0].data.size(), data.size());
}

TEST(FormError, StatusAndMessage) {
  EXPECT_EQ(formErrorStatus(FormError::kNone), 0);
  EXPECT_EQ(formErrorStatus(FormError::kNotMultipart), 415);
  EXPECT_EQ(formErrorStatus(FormError::kBadBoundary), 400);
  EXPECT_EQ(formErrorStatus(FormError::kMalformed), 400);
  EXPECT_EQ(formErrorStatus(FormError::kTooManyParts), 413);
  EXPECT_EQ(formErrorStatus(FormError::kFileTooLarge), 413);
  EXPECT_EQ(formErrorStatus(FormError::kTooLarge), 413);
  EXPECT_EQ(formErrorMessage(FormError::kNotMultipart),
            "Unsupported Media Type (415): expected multipart/form-data");
  for (auto e : {FormError::kBadBoundary, FormError::kMalformed, FormError::kTooManyParts,
                 FormError::kFileTooLarge, FormError::kTooLarge}) {
    EXPECT_FALSE(formErrorMessage(e).empty());
  }
}

// --- application/x-www-form-urlencoded ---------------------------------------

TEST(UrlencodedForm, MediaType) {
  EXPECT_TRUE(isUrlencodedForm("application/x-www-form-urlencoded"));
  EXPECT_TRUE(isUrlencodedForm(" Application/X-WWW-Form-URLEncoded ; charset=UTF-8"));
  EXPECT_FALSE(isUrlencodedForm("multipart/form-data; boundary=a"));
  EXPECT_FALSE(isUrlencodedForm(""));
}

TEST(UrlencodedForm, BodyDecodedWithTheQueryRules) {
  // lua-api.md §6.2 applies to form bodies as-is: forEachQueryPair is the parser.
  std::map<std::string, std::string> form;
  forEachQueryPair("name=Ada+Lovelace&lang=c%2B%2B&empty&=skipped&bad=%zz&name=Ada",
                   [&](std::string_view n, std::string_view v) { form[std::string(n)] = v; });
  EXPECT_EQ(form, (std::map<std::string, std::string>{
                      {"name", "Ada"}, {"lang", "c++"}, {"empty", ""}, {"bad", "%zz"}}));
}

}  // namespace
}  // namespace rover::http

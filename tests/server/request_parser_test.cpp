#include "server/request_parser.h"

#include <doctest/doctest.h>

namespace {

server::HeadResult Parse(std::string_view input, server::RequestHead* head) {
  size_t scanned = 0;
  return server::ParseRequestHead(input, &scanned, head);
}

}  // namespace

TEST_CASE("a request head: method, path without the query, and the headers that matter") {
  server::RequestHead head;
  std::string input =
      "\r\nPOST http://exporter:10487/-/reload?x=1 HTTP/1.1\r\nHost: a\r\n"
      "accept-encoding: br, gzip\r\nCONNECTION: keep-alive, Close\r\nContent-Length: 12\r\n"
      "Authorization: Basic abc\r\nExpect: 100-continue\r\n\r\nbody";
  auto result = Parse(input, &head);
  REQUIRE(result.status == server::ParseStatus::kDone);
  CHECK(input.substr(result.consumed) == "body");
  CHECK(head.method == "POST");
  CHECK(head.path == "/-/reload");
  CHECK(head.minor_version == 1);
  CHECK(head.content_length == 12u);
  CHECK(head.accepts_gzip);
  CHECK(head.close);
  CHECK(head.expect_continue);
  CHECK(head.authorization == "Basic abc");
  CHECK(head.has_body());
}

TEST_CASE("a request head arriving a byte at a time is found once, where it ends") {
  std::string input = "GET /metrics HTTP/1.0\r\nHost: a\r\n\r\nGET /next";
  server::RequestHead head;
  size_t scanned = 0;
  size_t end = input.find("\r\n\r\n") + 4;
  for (size_t size = 1; size < end; ++size) {
    CHECK(
        server::ParseRequestHead(std::string_view(input).substr(0, size), &scanned, &head).status ==
        server::ParseStatus::kIncomplete);
  }
  auto result = server::ParseRequestHead(input, &scanned, &head);
  REQUIRE(result.status == server::ParseStatus::kDone);
  CHECK(result.consumed == end);
  CHECK(head.minor_version == 0);
  CHECK(head.close);  // HTTP/1.0 without keep-alive
  CHECK_FALSE(head.has_body());
}

TEST_CASE("a request head over 16 KiB is 431, even before it ends") {
  server::RequestHead head;
  std::string input = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(server::kMaxHeadBytes, 'a');
  auto result = Parse(input, &head);
  CHECK(result.status == server::ParseStatus::kError);
  CHECK(result.error_status == 431);
}

TEST_CASE("a chunked body is decoded across any split, with extensions and trailers") {
  const std::string body =
      "4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\nNEXT";
  for (size_t split = 1; split < body.size(); ++split) {
    CAPTURE(split);
    server::ChunkedDecoder decoder(100);
    std::string out;
    size_t used = 0;
    auto status = decoder.Feed(std::string_view(body).substr(0, split), &out, &used);
    if (status == server::ChunkedDecoder::Status::kIncomplete) {
      CHECK(used == split);
      size_t more = 0;
      status = decoder.Feed(std::string_view(body).substr(split), &out, &more);
      used += more;
    }
    CHECK(status == server::ChunkedDecoder::Status::kDone);
    CHECK(out == "Wikipedia in \r\n\r\nchunks.");
    CHECK(body.substr(used) == "NEXT");
  }
}

TEST_CASE("a chunked body stops at its limit, and at a malformed or endless size line") {
  std::string out;
  size_t used = 0;
  server::ChunkedDecoder small(10);
  CHECK(small.Feed("8\r\n12345678\r\n8\r\n", &out, &used) ==
        server::ChunkedDecoder::Status::kTooLarge);
  server::ChunkedDecoder huge(10);
  CHECK(huge.Feed("ffffffffffffffffffff\r\n", &out, &used) ==
        server::ChunkedDecoder::Status::kError);
  server::ChunkedDecoder endless(10);
  CHECK(endless.Feed("1" + std::string(2000, ' '), &out, &used) ==
        server::ChunkedDecoder::Status::kError);
  server::ChunkedDecoder no_crlf(10);
  CHECK(no_crlf.Feed("2\r\nabXY", &out, &used) == server::ChunkedDecoder::Status::kError);
}

namespace {

// The status a whole head gets: 0 when accepted, -1 when more bytes are awaited.
int HeadStatus(std::string_view input) {
  server::RequestHead head;
  auto result = Parse(input, &head);
  if (result.status == server::ParseStatus::kIncomplete) return -1;
  return result.status == server::ParseStatus::kDone ? 0 : result.error_status;
}

// What a decoder makes of a whole chunked body: its data, or "error", "too large", "incomplete".
std::string Decode(std::string_view body, size_t limit = 100) {
  server::ChunkedDecoder decoder(limit);
  std::string out;
  size_t used = 0;
  switch (decoder.Feed(body, &out, &used)) {
    case server::ChunkedDecoder::Status::kDone:
      return used == body.size() ? out : "left over";
    case server::ChunkedDecoder::Status::kIncomplete:
      return "incomplete";
    case server::ChunkedDecoder::Status::kTooLarge:
      return "too large";
    case server::ChunkedDecoder::Status::kError:
      return "error";
  }
  return "";
}

}  // namespace

TEST_CASE("lines end with CRLF only: a bare LF or a bare CR in the head is 400") {
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
  CHECK(HeadStatus("GET / HTTP/1.1\nHost: a\n\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\n\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\rHost: a\r\n\r\n") == 400);
  // Refused as soon as it is seen, not when the head's end (which may never come) arrives.
  CHECK(HeadStatus("GET / HTTP/1.1\nHost") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r") == -1);
  // Empty lines before the request line are CRLFs too.
  CHECK(HeadStatus("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
  CHECK(HeadStatus("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(HeadStatus("\r\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("a bare LF is found however the head trickles in") {
  std::string input = "GET / HTTP/1.1\r\nHost: a\r\nX: b\n\r\n";
  for (size_t split = 1; split < input.size(); ++split) {
    CAPTURE(split);
    server::RequestHead head;
    size_t scanned = 0;
    auto first = server::ParseRequestHead(input.substr(0, split), &scanned, &head);
    if (first.status == server::ParseStatus::kError) {
      CHECK(first.error_status == 400);
      continue;
    }
    auto result = server::ParseRequestHead(input, &scanned, &head);
    CHECK(result.status == server::ParseStatus::kError);
    CHECK(result.error_status == 400);
  }
}

TEST_CASE("HTTP/1.1 needs exactly one valid Host, HTTP/1.0 at most one") {
  CHECK(HeadStatus("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.0\r\n\r\n") == 0);
  CHECK(HeadStatus("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost:\r\n\r\n") == 0);  // empty: RFC 9112 3.2
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: exporter.example:10487\r\n\r\n") == 0);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n") == 0);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a%20b\r\n\r\n") == 0);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n") == 400);
}

TEST_CASE("obs-fold and whitespace before a colon are 400, in headers and in trailers") {
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nX: \tb c\xff \r\n\r\n") == 0);
  CHECK(Decode("1\r\na\r\n0\r\nT: v\r\n\r\n") == "a");
  CHECK(Decode("1\r\na\r\n0\r\nT: v\r\n w\r\n\r\n") == "error");
  CHECK(Decode("1\r\na\r\n0\r\nT : v\r\n\r\n") == "error");
  CHECK(Decode("1\r\na\r\n0\r\nT: v\x01\r\n\r\n") == "error");
  CHECK(Decode("1\r\na\r\n0\r\nT: v\n\r\n") == "error");
  CHECK(Decode("1\r\na\r\n0\r\n\n") == "error");
  CHECK(Decode("1\r\na\r\n0\r\n" + std::string(server::kMaxHeadBytes, 'x')) == "incomplete");
  CHECK(Decode("1\r\na\r\n0\r\n" + std::string(server::kMaxHeadBytes + 1, 'x')) == "error");
}

TEST_CASE("Connection is a list of tokens") {
  server::RequestHead head;
  REQUIRE(
      Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: , Upgrade ,close,\r\n\r\n", &head).status ==
      server::ParseStatus::kDone);
  CHECK(head.close);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive close\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n") == 400);
  CHECK(HeadStatus("GET / HTTP/1.1\r\nHost: a\r\nConnection: close;x\r\n\r\n") == 400);
}

TEST_CASE("a chunk size is hex digits and RFC 9112 extensions, nothing around them") {
  CHECK(Decode("A\r\n0123456789\r\n0\r\n\r\n") == "0123456789");
  CHECK(Decode("0001\r\na\r\n000\r\n\r\n") == "a");
  CHECK(Decode("1;a\r\na\r\n0\r\n\r\n") == "a");
  CHECK(Decode("1 ; a = b ;c=\"q \\\" d\"\r\na\r\n0;e\r\n\r\n") == "a");
  CHECK(Decode(" 1\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1 \r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1\t\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("+1\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("0x1\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1x\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1;\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1;a \r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1;a=\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1;a=\"b\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1;a=\"\x01\"\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1;a=b c\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1\r\r\na\r\n0\r\n\r\n") == "error");
  CHECK(Decode("1\r\na\n0\r\n\r\n") == "error");
  // 2^64 does not fit; 2^64 - 1 does (and is too large for any limit).
  CHECK(Decode("10000000000000000\r\n") == "error");
  CHECK(Decode("00000000000000000ffffffffffffffff\r\n") == "too large");
}

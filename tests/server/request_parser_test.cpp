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
  std::string input = "GET /metrics HTTP/1.0\nHost: a\n\nGET /next";
  server::RequestHead head;
  size_t scanned = 0;
  size_t end = input.find("\n\n") + 2;
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
  std::string input = "GET / HTTP/1.1\r\nX: " + std::string(server::kMaxHeadBytes, 'a');
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

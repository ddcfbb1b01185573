// Parsing of HTTP/1.x requests as their bytes arrive: the request head (request line and
// headers) and a chunked body. Pure functions of their input; no I/O, no threads.
//
// The rules (RFC 9112), each refused with 400 unless said otherwise:
// - Lines end with CRLF only, as RFC 9112 2.2 lets a server require: a bare LF or a bare CR
//   anywhere in the head, a chunk line or the trailers is refused.
// - HTTP/1.1 needs exactly one Host with a valid value (uri-host [":" port], empty allowed);
//   HTTP/1.0 may omit it, but never sends two.
// - Field names are tokens: whitespace before the colon is refused, and so is obs-fold (a line
//   starting with SP or HTAB). Values hold no control character but HTAB.
// - Connection is a list of tokens; Content-Length is digits (two must agree); Transfer-Encoding
//   is "chunked" alone (another coding is 501) and never comes with a Content-Length or in
//   HTTP/1.0. Two Authorization fields are refused.
// - A chunk size is 1*HEXDIG fitting 64 bits, followed only by RFC 9112 chunk extensions
//   (";name[=token|quoted-string]", BWS around ";" and "="): nothing else around it. Trailer
//   fields follow the header rules; their meaning is ignored.
// - Too large a head, or too many fields, is 431; an HTTP version other than 1.x is 505.
// tests/server/request_parser_differential_test.cpp holds these rules to Boost.Beast's parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace server {

// The largest request head (empty lines before it, request line and headers, up to and with the
// empty line that ends it): a longer one gets 431. The trailers of a chunked body have the same
// limit.
inline constexpr size_t kMaxHeadBytes = 16 * 1024;
// The most header fields in a request: more get 431.
inline constexpr size_t kMaxHeaderFields = 100;
// The longest chunk-size line (size, extensions and CRLF) in a chunked body.
inline constexpr size_t kMaxChunkLineBytes = 1024;

// What the server needs from a request head.
struct RequestHead {
  std::string method;
  // The target's path, without the query (an absolute-form target loses its scheme and host).
  std::string path;
  // 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version = 1;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  // The connection ends after this request (Connection: close, or HTTP/1.0 without keep-alive).
  bool close = false;
  bool accepts_gzip = false;
  // The Accept header's values, joined with commas (at most the head's size).
  std::string accept;
  bool expect_continue = false;
  std::string authorization;
  // A body follows the head.
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

enum class ParseStatus { kIncomplete, kDone, kError };

struct HeadResult {
  ParseStatus status = ParseStatus::kIncomplete;
  // kDone: the bytes of the head, to drop from the input.
  size_t consumed = 0;
  // kError: the status to answer with (400, 431, 501, 505).
  int error_status = 0;
};

// Parses the request head at the start of `input`. `scanned` keeps how far a previous call looked
// for the head's end, so that a head trickling in is not scanned again from its start; reset it
// to 0 for each new head. Empty lines (CRLF) before the request line are skipped, as RFC 9112 2.2
// asks of a server.
HeadResult ParseRequestHead(std::string_view input, size_t* scanned, RequestHead* head);

// Decodes a chunked body incrementally, keeping at most `limit` bytes of data.
class ChunkedDecoder {
 public:
  enum class Status { kIncomplete, kDone, kTooLarge, kError };
  explicit ChunkedDecoder(size_t limit) : limit_(limit) {}
  // Decodes from `input`, appending data to *body; *consumed is the number of bytes used. kDone
  // once the last chunk and the trailers were read; kTooLarge as soon as the data exceed the limit
  // (nothing more is decoded); kError on a malformed body.
  Status Feed(std::string_view input, std::string* body, size_t* consumed);

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailer };
  State state_ = State::kSizeLine;
  size_t limit_;
  uint64_t remaining_ = 0;
  // Bytes of the current chunk-size or trailer line seen so far (for their limits).
  size_t line_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  std::string line_;
};

}  // namespace server

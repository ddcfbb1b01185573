// A differential harness for the HTTP request parser (src/server/request_parser): one byte stream,
// delivered in pieces split at given offsets, is read (a) by our parser exactly as
// server::Connection reads it (the head, then the body by Content-Length or ChunkedDecoder,
// requests pipelined one after another) and (b) by Boost.Beast's
// http::request_parser<string_body> (eager, header_limit and body_limit set to ours). Each side
// gives the sequence of its verdicts, and Compare says whether they agree. Not thread-safe; no
// state outside its calls.
//
// Verdicts agree when both sides serve the same requests (method, target path, HTTP version,
// body, keep-alive, and where each ends in the stream) up to the first request neither serves
// (an error, or a request the stream ends inside: both mean no request was served). Which error
// is not compared: our 431 and 413 are Beast's header_limit and body_limit, our 400 one of its
// many; and Beast refuses most bad bytes as they come, ours (but for a bare CR or LF) once the
// head has ended. Beast refuses a bare LF and a bare CR as ours does, so CRLF-only needs no
// allowance. The differences allowed, each a narrow predicate over the raw bytes of the request
// concerned (see http_stream.cpp), and why:
//
// Our parser refuses, Beast serves (our rules are stricter, or our limits are ours):
//   host_rule         400: an HTTP/1.1 request without exactly one Host, two Hosts in HTTP/1.0, or
//                     a Host that is not uri-host[:port] (RFC 9112 3.2 says 400; Beast does not
//                     check Host).
//   obs_fold          400: a header or trailer line starting with SP or HTAB (RFC 9112 5.2 lets a
//                     server refuse; Beast unfolds it).
//   head_limit        431: the head, counted from the end of the previous request (empty lines
//                     included), is over kMaxHeadBytes, or has over kMaxHeaderFields fields
//                     (Beast counts the request line and the fields apart, and has no field count).
//   target_form       400: a target that is not origin-form, http(s) absolute-form or "*"
//                     (Beast takes any visible characters).
//   long_method       400: a method over 32 characters.
//   transfer_coding   400 or 501: a Transfer-Encoding other than one field "chunked" (Beast takes
//                     a list ending in chunked, and reads a request without chunked last as
//                     having no body).
//   chunked_http10    400: Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1).
//   content_length    400: a Content-Length that is not plain digits, up to 18 (Beast takes a
//                     list of equal values, RFC 9110 8.6 lets a recipient refuse it).
//   two_authorizations 400: more than one Authorization field.
//   chunk_line        400: a chunk line with a control character other than HTAB (Beast takes
//                     any byte inside a quoted extension value) or over kMaxChunkLineBytes.
//   trailer_limit     400: trailers over kMaxHeadBytes (Beast has no limit on them).
//
// Beast refuses, our parser serves:
//   minor_version     HTTP/1.2 to 1.9, served as 1.1 (RFC 9110 2.5; Beast knows 1.0 and 1.1 only).
//   proxy_connection  a Proxy-Connection that is not a token list (Beast checks it as Connection;
//                     it means nothing to us).
//   trailer_framing   a trailer field Content-Length, Transfer-Encoding, Connection or
//                     Proxy-Connection (Beast applies them as if they were headers; RFC 9110 6.5.1:
//                     framing fields in trailers are not to be merged, ours ignores them).
//
// Both serve, with a different keep-alive (the comparison stops after it):
//   proxy_connection  Beast reads Proxy-Connection's close and keep-alive as Connection's.
//   trailer_framing   Beast reads a Connection trailer.
//   close_wins        HTTP/1.0 with both "keep-alive" and "close": close wins (RFC 9112 9.3;
//                     Beast keeps the connection).
//
// Beast does not skip empty lines before a request line (RFC 9112 2.2 asks a server to skip at
// least one): CRLFs before a request are dropped before Beast sees them. A body is read for every
// method; that the connection then closes after a GET with a body is routing, not parsing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace httpstream {

struct Verdict {
  enum class Kind { kRequest, kError, kIncomplete };
  Kind kind = Kind::kRequest;
  std::string method;
  std::string path;
  // 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version = 1;
  std::string body;
  bool keep_alive = true;
  // kError: our status (400, 413, 431, 501, 505), or 0 and Beast's error.
  int status = 0;
  std::string error;
  // The request's bytes in the stream: from the end of the one before (empty lines included) to
  // its own end (kRequest only).
  size_t begin = 0;
  size_t end = 0;

  bool operator==(const Verdict&) const = default;
};

std::string Describe(const Verdict& verdict);
std::string Describe(const std::vector<Verdict>& verdicts);

struct Options {
  // The body limit of both sides (a POST route's max_body_bytes).
  size_t body_limit = 4096;
};

// The stream is delivered in pieces that end at each offset of `splits` (ascending, past the end
// ignored), then the rest.
std::vector<Verdict> RunOurs(std::string_view stream, const std::vector<size_t>& splits,
                             const Options& options = {});
std::vector<Verdict> RunBeast(std::string_view stream, const std::vector<size_t>& splits,
                              const Options& options = {});

struct Comparison {
  // Empty when the sides agree; otherwise what differs.
  std::string mismatch;
  // The allowed difference that ended the comparison, if one did.
  std::string allowed;
};
Comparison Compare(std::string_view stream, const std::vector<Verdict>& ours,
                   const std::vector<Verdict>& beast);

// Everything for one stream: both sides split at `splits` compared, and our side split at
// `splits` equal to our side reading the stream whole. The mismatch is empty when all holds.
Comparison Check(std::string_view stream, const std::vector<size_t>& splits,
                 const Options& options = {});

}  // namespace httpstream

// Boost's assertions are on in every build of the harness, and fail through the handler below.
#define BOOST_ENABLE_ASSERT_HANDLER

#include "support/http_stream.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/assert.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <regex>

#include "server/request_parser.h"

namespace boost {

// Beast 1.74 asserts n >= 5 in parse_chunk_header when the CRLF CRLF that ends a last chunk
// arrives in pieces ("0\r\n", then "\r"): the assertion is wrong (the code after it asks for
// more bytes, as it should), and Beast has since corrected it (boostorg/beast#2861). Every other
// assertion aborts.
void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::string_view(expr) == "n >= 5" &&
      std::string_view(function).find("parse_chunk_header") != std::string_view::npos) {
    return;
  }
  std::fprintf(stderr, "%s:%ld: %s: assertion '%s' failed\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: assertion '%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost

namespace httpstream {
namespace {

namespace http = boost::beast::http;

// How many bytes the connection reads at most per call for a chunked body (its read buffer).
constexpr size_t kReadBufferBytes = 16 * 1024;

// Calls `deliver` with each piece of `stream`.
template <typename F>
void Deliver(std::string_view stream, const std::vector<size_t>& splits, F&& deliver) {
  size_t at = 0;
  for (size_t split : splits) {
    if (split <= at || split >= stream.size()) continue;
    deliver(stream.substr(at, split - at));
    at = split;
  }
  if (at < stream.size()) deliver(stream.substr(at));
}

// Whether bytes left unread begin a request: anything but empty lines (and the CR of the next).
bool StartsRequest(std::string_view pending) {
  while (pending.size() >= 2 && pending[0] == '\r' && pending[1] == '\n') pending.remove_prefix(2);
  return !pending.empty() && pending != "\r";
}

// The path of a target, the way the server wants it: without the query or fragment, and for an
// absolute-form target, without the scheme and authority.
std::string TargetPath(std::string_view target) {
  if (!target.empty() && target.front() != '/' && target != "*") {
    size_t scheme_end = target.find("://");
    size_t slash = scheme_end == std::string_view::npos ? std::string_view::npos
                                                        : target.find('/', scheme_end + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return std::string(target.substr(0, target.find_first_of("?#")));
}

// Our parser, fed the way server::Connection feeds it.
class OurSide {
 public:
  explicit OurSide(const Options& options) : options_(options) {}

  void Arrive(std::string_view bytes) {
    if (stopped_) return;
    socket_.append(bytes);
    while (!stopped_ && (head_phase_ ? ReadHead() : ReadBody())) {
    }
  }

  std::vector<Verdict> Finish() {
    if (!stopped_ && (head_phase_ ? StartsRequest(in_ + socket_) : true)) {
      verdicts_.push_back({.kind = Verdict::Kind::kIncomplete, .begin = begin_});
    }
    return std::move(verdicts_);
  }

 private:
  // Moves up to `limit` bytes from the socket to the input; false when none was there.
  bool Fill(size_t limit) {
    size_t take = std::min(limit, socket_.size());
    if (take == 0) return false;
    in_.append(socket_, 0, take);
    socket_.erase(0, take);
    return true;
  }

  // As Connection::ReadHead; true when the head is read and the body comes next.
  bool ReadHead() {
    for (;;) {
      if (!in_.empty()) {
        server::HeadResult result = server::ParseRequestHead(in_, &scanned_, &head_);
        if (result.status == server::ParseStatus::kDone) {
          in_.erase(0, result.consumed);
          consumed_ += result.consumed;
          scanned_ = 0;
          return StartBody();
        }
        if (result.status == server::ParseStatus::kError) {
          Fail(result.error_status);
          return false;
        }
      }
      size_t room = server::kMaxHeadBytes + 1 - std::min(in_.size(), server::kMaxHeadBytes);
      if (!Fill(room)) return false;
    }
  }

  // As Connection::StartBody.
  bool StartBody() {
    body_.clear();
    chunked_.reset();
    if (!head_.has_body()) {
      Complete();
      return true;
    }
    if (head_.content_length && *head_.content_length > options_.body_limit) {
      Fail(413);
      return false;
    }
    if (head_.chunked) chunked_.emplace(options_.body_limit);
    body_left_ = head_.content_length.value_or(0);
    head_phase_ = false;
    return true;
  }

  // As Connection::ReadBody; true when the request is complete.
  bool ReadBody() {
    for (;;) {
      if (!in_.empty()) {
        bool complete = false;
        if (chunked_) {
          size_t used = 0;
          auto status = chunked_->Feed(in_, &body_, &used);
          in_.erase(0, used);
          consumed_ += used;
          if (status == server::ChunkedDecoder::Status::kError) {
            Fail(400);
            return false;
          }
          if (status == server::ChunkedDecoder::Status::kTooLarge) {
            Fail(413);
            return false;
          }
          complete = status == server::ChunkedDecoder::Status::kDone;
        } else {
          size_t take = static_cast<size_t>(std::min<uint64_t>(body_left_, in_.size()));
          body_.append(in_, 0, take);
          in_.erase(0, take);
          consumed_ += take;
          body_left_ -= take;
          complete = body_left_ == 0;
        }
        if (complete) {
          Complete();
          return true;
        }
      }
      if (!Fill(chunked_ ? kReadBufferBytes : static_cast<size_t>(body_left_))) return false;
    }
  }

  void Complete() {
    verdicts_.push_back({.kind = Verdict::Kind::kRequest,
                         .method = head_.method,
                         .path = head_.path,
                         .minor_version = head_.minor_version,
                         .body = std::move(body_),
                         .keep_alive = !head_.close,
                         .begin = begin_,
                         .end = consumed_});
    begin_ = consumed_;
    head_phase_ = true;
    body_.clear();
    // The connection answers, then ends.
    if (head_.close) stopped_ = true;
  }

  void Fail(int status) {
    verdicts_.push_back({.kind = Verdict::Kind::kError, .status = status, .begin = begin_});
    stopped_ = true;
  }

  const Options& options_;
  std::string socket_;
  std::string in_;
  size_t scanned_ = 0;
  bool head_phase_ = true;
  bool stopped_ = false;
  server::RequestHead head_;
  std::optional<server::ChunkedDecoder> chunked_;
  uint64_t body_left_ = 0;
  std::string body_;
  size_t begin_ = 0;
  size_t consumed_ = 0;
  std::vector<Verdict> verdicts_;
};

// Boost.Beast's request parser, a new one per request, fed whatever it has not consumed yet.
class BeastSide {
 public:
  explicit BeastSide(const Options& options) : options_(options) {}

  void Arrive(std::string_view bytes) {
    if (stopped_) return;
    buffer_.append(bytes);
    for (;;) {
      if (!parser_) {
        // RFC 9112 2.2: empty lines before a request line are skipped (Beast does not).
        size_t skip = 0;
        while (skip + 1 < buffer_.size() && buffer_[skip] == '\r' && buffer_[skip + 1] == '\n') {
          skip += 2;
        }
        Consume(skip);
        if (buffer_.empty() || buffer_ == "\r") return;
        parser_.emplace();
        parser_->eager(true);
        parser_->header_limit(static_cast<std::uint32_t>(server::kMaxHeadBytes));
        parser_->body_limit(options_.body_limit);
      }
      if (buffer_.empty()) return;
      boost::beast::error_code error;
      size_t used = parser_->put(boost::asio::buffer(buffer_.data(), buffer_.size()), error);
      Consume(used);
      if (error == http::error::need_more) {
        if (used == 0) return;
        continue;
      }
      if (error) {
        verdicts_.push_back(
            {.kind = Verdict::Kind::kError, .error = error.message(), .begin = begin_});
        stopped_ = true;
        return;
      }
      if (parser_->is_done()) {
        const auto& request = parser_->get();
        bool keep_alive = parser_->keep_alive();
        const auto target = request.target();
        verdicts_.push_back(
            {.kind = Verdict::Kind::kRequest,
             .method = std::string(request.method_string().data(), request.method_string().size()),
             .path = TargetPath(std::string_view(target.data(), target.size())),
             .minor_version = static_cast<int>(request.version() % 10),
             .body = request.body(),
             .keep_alive = keep_alive,
             .begin = begin_,
             .end = offset_});
        begin_ = offset_;
        parser_.reset();
        if (!keep_alive) {
          stopped_ = true;
          return;
        }
        continue;
      }
      if (used == 0) return;
    }
  }

  std::vector<Verdict> Finish() {
    if (!stopped_ && (parser_ || StartsRequest(buffer_))) {
      verdicts_.push_back({.kind = Verdict::Kind::kIncomplete, .begin = begin_});
    }
    return std::move(verdicts_);
  }

 private:
  void Consume(size_t bytes) {
    buffer_.erase(0, bytes);
    offset_ += bytes;
  }

  const Options& options_;
  std::string buffer_;
  size_t offset_ = 0;
  size_t begin_ = 0;
  bool stopped_ = false;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::vector<Verdict> verdicts_;
};

// ---- The raw bytes of one request, read independently of both parsers, for the predicates.

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

struct RawField {
  std::string_view name;
  std::string_view value;
};

// Splits CRLF-ended lines until an empty one (or the end of `text`); *size is the bytes used.
std::vector<std::string_view> Lines(std::string_view text, size_t* size) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t crlf = text.find("\r\n", pos);
    if (crlf == std::string_view::npos) {
      lines.push_back(text.substr(pos));
      pos = text.size();
      break;
    }
    std::string_view line = text.substr(pos, crlf - pos);
    pos = crlf + 2;
    if (line.empty()) break;
    lines.push_back(line);
  }
  *size = pos;
  return lines;
}

std::vector<RawField> Fields(const std::vector<std::string_view>& lines) {
  std::vector<RawField> fields;
  for (std::string_view line : lines) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields.push_back({TrimOws(line.substr(0, colon)), TrimOws(line.substr(colon + 1))});
  }
  return fields;
}

struct RawRequest {
  // With the empty lines before the request line.
  size_t head_bytes = 0;
  std::string_view method;
  std::string_view target;
  std::string_view version;
  std::vector<std::string_view> field_lines;
  std::vector<RawField> fields;
  // For a chunked body that could be walked: its chunk lines (without CRLF) and trailers.
  std::vector<std::string_view> chunk_lines;
  std::vector<std::string_view> trailer_lines;
  std::vector<RawField> trailers;
  size_t trailer_bytes = 0;

  size_t Count(std::string_view name) const {
    return std::count_if(fields.begin(), fields.end(),
                         [&](const RawField& f) { return EqualsNoCase(f.name, name); });
  }
};

// Walks a chunked body that one side accepted: size lines, data, trailers.
void WalkChunks(std::string_view body, RawRequest* raw) {
  size_t pos = 0;
  for (;;) {
    size_t crlf = body.find("\r\n", pos);
    if (crlf == std::string_view::npos) return;
    std::string_view line = body.substr(pos, crlf - pos);
    raw->chunk_lines.push_back(line);
    size_t digits = 0;
    uint64_t size = 0;
    for (; digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]));
         ++digits) {
      if (size > (UINT64_MAX >> 4)) return;
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(line[digits])));
      size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (digits == 0) return;
    pos = crlf + 2;
    if (size == 0) break;
    if (size > body.size() - pos) return;
    pos += size + 2;
  }
  std::string_view trailer = body.substr(pos);
  raw->trailer_lines = Lines(trailer, &raw->trailer_bytes);
  raw->trailers = Fields(raw->trailer_lines);
}

// `text`: from the request's begin to its end, or to the end of the stream.
RawRequest ReadRaw(std::string_view text) {
  RawRequest raw;
  size_t start = 0;
  while (start + 1 < text.size() && text[start] == '\r' && text[start + 1] == '\n') start += 2;
  size_t used = 0;
  std::vector<std::string_view> lines = Lines(text.substr(start), &used);
  raw.head_bytes = start + used;
  if (lines.empty()) return raw;
  std::string_view request_line = lines[0];
  size_t first = request_line.find(' ');
  size_t last = request_line.rfind(' ');
  raw.method = request_line.substr(0, first);
  if (first != std::string_view::npos && last > first) {
    raw.target = request_line.substr(first + 1, last - first - 1);
    raw.version = request_line.substr(last + 1);
  }
  raw.field_lines.assign(lines.begin() + 1, lines.end());
  raw.fields = Fields(raw.field_lines);
  bool chunked = false;
  for (const RawField& field : raw.fields) {
    if (!EqualsNoCase(field.name, "Transfer-Encoding")) continue;
    std::string_view value = field.value;
    chunked = value.size() >= 7 && EqualsNoCase(value.substr(value.size() - 7), "chunked");
  }
  if (chunked) WalkChunks(text.substr(raw.head_bytes), &raw);
  return raw;
}

bool Folded(const std::vector<std::string_view>& lines) {
  return std::any_of(lines.begin(), lines.end(), [](std::string_view line) {
    return !line.empty() && (line.front() == ' ' || line.front() == '\t');
  });
}

bool IsTokenList(std::string_view value) {
  static const std::regex kList(
      "[ \\t,]*([!#$%&'*+.^_`|~0-9A-Za-z-]+([ \\t]*,[ \\t,]*|[ \\t]*$))*");
  return std::regex_match(value.begin(), value.end(), kList);
}

bool HasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

// ---- The allowed differences (listed, with their reasons, in http_stream.h).

bool HostRule(const RawRequest& raw) {
  static const std::regex kHost(
      "(\\[[0-9A-Fa-fvV:._~!$&'()*+,;=-]+\\]|([A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)"
      "(:[0-9]*)?");
  size_t hosts = raw.Count("Host");
  if (hosts > 1 || (raw.version == "HTTP/1.1" && hosts == 0)) return true;
  return std::any_of(raw.fields.begin(), raw.fields.end(), [](const RawField& f) {
    return EqualsNoCase(f.name, "Host") && !std::regex_match(f.value.begin(), f.value.end(), kHost);
  });
}

bool ObsFold(const RawRequest& raw) { return Folded(raw.field_lines) || Folded(raw.trailer_lines); }

bool HeadLimit(const RawRequest& raw) {
  return raw.head_bytes > server::kMaxHeadBytes ||
         raw.field_lines.size() > server::kMaxHeaderFields;
}

bool TargetForm(const RawRequest& raw) {
  static const std::regex kAbsolute("[hH][tT][tT][pP][sS]?://.*");
  std::string_view target = raw.target;
  return !(target == "*" || (!target.empty() && target.front() == '/') ||
           std::regex_match(target.begin(), target.end(), kAbsolute));
}

bool LongMethod(const RawRequest& raw) { return raw.method.size() > 32; }

bool TransferCoding(const RawRequest& raw) {
  if (raw.Count("Transfer-Encoding") > 1) return true;
  return std::any_of(raw.fields.begin(), raw.fields.end(), [](const RawField& f) {
    return EqualsNoCase(f.name, "Transfer-Encoding") && !EqualsNoCase(f.value, "chunked");
  });
}

bool ChunkedHttp10(const RawRequest& raw) {
  return raw.version == "HTTP/1.0" && raw.Count("Transfer-Encoding") > 0;
}

bool ContentLength(const RawRequest& raw) {
  static const std::regex kDigits("[0-9]{1,18}");
  return std::any_of(raw.fields.begin(), raw.fields.end(), [](const RawField& f) {
    return EqualsNoCase(f.name, "Content-Length") &&
           !std::regex_match(f.value.begin(), f.value.end(), kDigits);
  });
}

bool TwoAuthorizations(const RawRequest& raw) { return raw.Count("Authorization") > 1; }

bool ChunkLine(const RawRequest& raw) {
  return std::any_of(raw.chunk_lines.begin(), raw.chunk_lines.end(), [](std::string_view line) {
    return HasControl(line) || line.size() + 2 > server::kMaxChunkLineBytes;
  });
}

bool TrailerLimit(const RawRequest& raw) { return raw.trailer_bytes > server::kMaxHeadBytes; }

bool MinorVersion(const RawRequest& raw) {
  static const std::regex kVersion("HTTP/1\\.[2-9]");
  return std::regex_match(raw.version.begin(), raw.version.end(), kVersion);
}

bool ProxyConnectionInvalid(const RawRequest& raw) {
  return std::any_of(raw.fields.begin(), raw.fields.end(), [](const RawField& f) {
    return EqualsNoCase(f.name, "Proxy-Connection") && !IsTokenList(f.value);
  });
}

bool ProxyConnection(const RawRequest& raw) { return raw.Count("Proxy-Connection") > 0; }

bool TrailerFraming(const RawRequest& raw) {
  return std::any_of(raw.trailers.begin(), raw.trailers.end(), [](const RawField& f) {
    return EqualsNoCase(f.name, "Content-Length") || EqualsNoCase(f.name, "Transfer-Encoding") ||
           EqualsNoCase(f.name, "Connection") || EqualsNoCase(f.name, "Proxy-Connection");
  });
}

bool CloseWins(const RawRequest& raw) {
  if (raw.version != "HTTP/1.0") return false;
  bool close = false;
  bool keep_alive = false;
  for (const RawField& field : raw.fields) {
    if (!EqualsNoCase(field.name, "Connection")) continue;
    std::string_view list = field.value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view item = TrimOws(list.substr(0, comma));
      close = close || EqualsNoCase(item, "close");
      keep_alive = keep_alive || EqualsNoCase(item, "keep-alive");
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  return close && keep_alive;
}

struct Allowance {
  const char* name;
  bool (*applies)(const RawRequest&);
  // For our refusals: the statuses it explains.
  std::vector<int> statuses;
};

// Our parser refuses a request Beast serves.
const std::vector<Allowance>& OursStricter() {
  static const std::vector<Allowance> kList = {
      {"host_rule", HostRule, {400}},
      {"obs_fold", ObsFold, {400}},
      {"head_limit", HeadLimit, {431}},
      {"target_form", TargetForm, {400}},
      {"long_method", LongMethod, {400}},
      {"transfer_coding", TransferCoding, {400, 501}},
      {"chunked_http10", ChunkedHttp10, {400}},
      {"content_length", ContentLength, {400}},
      {"two_authorizations", TwoAuthorizations, {400}},
      {"chunk_line", ChunkLine, {400}},
      {"trailer_limit", TrailerLimit, {400}},
  };
  return kList;
}

// Beast refuses a request our parser serves.
const std::vector<Allowance>& BeastStricter() {
  static const std::vector<Allowance> kList = {
      {"minor_version", MinorVersion, {}},
      {"proxy_connection", ProxyConnectionInvalid, {}},
      {"trailer_framing", TrailerFraming, {}},
  };
  return kList;
}

// Both serve, with a different keep-alive.
const std::vector<Allowance>& KeepAliveDiffers() {
  static const std::vector<Allowance> kList = {
      {"proxy_connection", ProxyConnection, {}},
      {"trailer_framing", TrailerFraming, {}},
      {"close_wins", CloseWins, {}},
  };
  return kList;
}

const char* FindAllowance(const std::vector<Allowance>& list, const RawRequest& raw,
                          int status = 0) {
  for (const Allowance& allowance : list) {
    if (status != 0 && std::find(allowance.statuses.begin(), allowance.statuses.end(), status) ==
                           allowance.statuses.end()) {
      continue;
    }
    if (allowance.applies(raw)) return allowance.name;
  }
  return nullptr;
}

std::string Escape(std::string_view text, size_t max = 200) {
  std::string out;
  for (char c : text.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (text.size() > max) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace

std::string Describe(const Verdict& verdict) {
  switch (verdict.kind) {
    case Verdict::Kind::kRequest:
      return "request " + verdict.method + " " + Escape(verdict.path) + " HTTP/1." +
             std::to_string(verdict.minor_version) + " body \"" + Escape(verdict.body, 60) +
             "\" keep-alive " + (verdict.keep_alive ? "yes" : "no") + " bytes [" +
             std::to_string(verdict.begin) + ", " + std::to_string(verdict.end) + ")";
    case Verdict::Kind::kError:
      return "error " + (verdict.status != 0 ? std::to_string(verdict.status) : verdict.error) +
             " at " + std::to_string(verdict.begin);
    case Verdict::Kind::kIncomplete:
      return "incomplete from " + std::to_string(verdict.begin);
  }
  return "";
}

std::string Describe(const std::vector<Verdict>& verdicts) {
  std::string out;
  for (const Verdict& verdict : verdicts) out += "  " + Describe(verdict) + "\n";
  return out.empty() ? "  (none)\n" : out;
}

std::vector<Verdict> RunOurs(std::string_view stream, const std::vector<size_t>& splits,
                             const Options& options) {
  OurSide side(options);
  Deliver(stream, splits, [&](std::string_view piece) { side.Arrive(piece); });
  return side.Finish();
}

std::vector<Verdict> RunBeast(std::string_view stream, const std::vector<size_t>& splits,
                              const Options& options) {
  BeastSide side(options);
  Deliver(stream, splits, [&](std::string_view piece) { side.Arrive(piece); });
  return side.Finish();
}

Comparison Compare(std::string_view stream, const std::vector<Verdict>& ours,
                   const std::vector<Verdict>& beast) {
  auto differ = [&](size_t i, const std::string& what) {
    return Comparison{.mismatch = "request " + std::to_string(i) + ": " + what + "\nours:\n" +
                                  Describe(ours) + "beast:\n" + Describe(beast) + "stream: \"" +
                                  Escape(stream, 600) + "\""};
  };
  for (size_t i = 0;; ++i) {
    const Verdict* o = i < ours.size() ? &ours[i] : nullptr;
    const Verdict* b = i < beast.size() ? &beast[i] : nullptr;
    bool o_served = o && o->kind == Verdict::Kind::kRequest;
    bool b_served = b && b->kind == Verdict::Kind::kRequest;
    // Neither serves this one: an error, or the end of the stream, on both sides.
    if (!o_served && !b_served) return {};
    if (o_served && b_served) {
      if (o->method != b->method || o->path != b->path || o->minor_version != b->minor_version ||
          o->body != b->body || o->begin != b->begin || o->end != b->end) {
        return differ(i, "both serve it, differently");
      }
      if (o->keep_alive == b->keep_alive) continue;
      RawRequest raw = ReadRaw(stream.substr(o->begin, o->end - o->begin));
      if (const char* name = FindAllowance(KeepAliveDiffers(), raw)) {
        return {.allowed = name};
      }
      return differ(i, "keep-alive differs");
    }
    if (b_served) {
      RawRequest raw = ReadRaw(stream.substr(b->begin, b->end - b->begin));
      if (o && o->kind == Verdict::Kind::kError && o->begin == b->begin) {
        if (const char* name = FindAllowance(OursStricter(), raw, o->status)) {
          return {.allowed = name};
        }
      }
      return differ(i, "Beast serves it, ours does not");
    }
    RawRequest raw = ReadRaw(stream.substr(o->begin, o->end - o->begin));
    if (b && b->kind == Verdict::Kind::kError && o->begin == b->begin) {
      if (const char* name = FindAllowance(BeastStricter(), raw)) return {.allowed = name};
    }
    return differ(i, "ours serves it, Beast does not");
  }
}

Comparison Check(std::string_view stream, const std::vector<size_t>& splits,
                 const Options& options) {
  std::vector<Verdict> ours = RunOurs(stream, splits, options);
  if (!splits.empty()) {
    std::vector<Verdict> whole = RunOurs(stream, {}, options);
    if (ours != whole) {
      return {.mismatch = "our parser reads the stream split differently from whole\nsplit:\n" +
                          Describe(ours) + "whole:\n" + Describe(whole) + "stream: \"" +
                          Escape(stream, 600) + "\""};
    }
  }
  return Compare(stream, ours, RunBeast(stream, splits, options));
}

}  // namespace httpstream

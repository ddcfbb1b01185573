#include "server/request_parser.h"

#include <strings.h>

#include <algorithm>
#include <vector>

#include "server/http_server.h"

namespace server {
namespace {

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Calls `item` with each trimmed, non-empty element of a comma-separated list.
template <typename F>
void ForEachListItem(std::string_view list, F&& item) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (!element.empty()) item(element);
  }
}

// Visible characters, spaces and tabs: no other control character in a header value.
bool IsFieldValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

// Origin-form ("/path?query") or absolute-form ("http://host/path"); "*" for OPTIONS.
bool ParseTarget(std::string_view target, std::string* path) {
  if (target.empty()) return false;
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  if (target == "*") {
    path->assign(1, '*');
    return true;
  }
  if (target.front() != '/') {
    size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return false;
    std::string_view scheme = target.substr(0, scheme_end);
    if (!EqualsNoCase(scheme, "http") && !EqualsNoCase(scheme, "https")) return false;
    size_t slash = target.find('/', scheme_end + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  *path = std::string(target.substr(0, target.find_first_of("?#")));
  return true;
}

HeadResult Error(int status) { return {.status = ParseStatus::kError, .error_status = status}; }

// Fields that matter once the whole head is read.
struct Seen {
  bool authorization = false;
  bool keep_alive = false;
  int hosts = 0;
};

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9112 3.2: Host = uri-host [ ":" port ], where uri-host is an IP-literal ("[...]") or a
// reg-name (unreserved, sub-delims, percent-encodings); an empty value is valid.
bool IsHost(std::string_view value) {
  std::string_view host = value;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view literal = host.substr(1, close - 1);
    if (literal.empty() || literal.find_first_not_of("0123456789abcdefABCDEFvV:.-_~!$&'()*+,;=") !=
                               std::string_view::npos) {
      return false;
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    for (size_t i = 0; i < host.size(); ++i) {
      char c = host[i];
      if (c == '%') {
        if (i + 2 >= host.size() || !IsHexDigit(host[i + 1]) || !IsHexDigit(host[i + 2])) {
          return false;
        }
        i += 2;
        continue;
      }
      bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') ||
                        std::string_view("-._~").find(c) != std::string_view::npos;
      if (!unreserved && std::string_view("!$&'()*+,;=").find(c) == std::string_view::npos)
        return false;
    }
  }
  return port.find_first_not_of("0123456789") == std::string_view::npos;
}

// Splits a header (or trailer) field line into its name and its value without the OWS around
// it. False for an obs-fold (a line starting with SP or HTAB), whitespace before the colon, a
// name that is not a token, or a control character in the value.
bool SplitField(std::string_view line, std::string_view* name, std::string_view* value) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return false;
  *name = line.substr(0, colon);
  *value = Trim(line.substr(colon + 1));
  return IsFieldValue(*value);
}

bool IsQuotedStringChar(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

// RFC 9112 7.1.1, a chunk line without its CRLF:
//   chunk-size [ chunk-ext ], chunk-size = 1*HEXDIG,
//   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string
// A size that does not fit 64 bits is refused.
bool ParseChunkLine(std::string_view line, uint64_t* size) {
  size_t pos = 0;
  uint64_t value = 0;
  while (pos < line.size() && IsHexDigit(line[pos])) {
    if (value > (UINT64_MAX >> 4)) return false;
    char c = line[pos++];
    int digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  if (pos == 0) return false;
  auto skip_bws = [&] {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
  };
  auto token = [&] {
    size_t begin = pos;
    while (pos < line.size() && IsTokenChar(line[pos])) ++pos;
    return pos > begin;
  };
  while (pos < line.size()) {
    skip_bws();
    if (pos == line.size() || line[pos] != ';') return false;
    ++pos;
    skip_bws();
    if (!token()) return false;
    size_t after_name = pos;
    skip_bws();
    if (pos == line.size() || line[pos] != '=') {
      // No value: BWS only before another extension.
      if (pos == line.size() && pos != after_name) return false;
      continue;
    }
    ++pos;
    skip_bws();
    if (pos < line.size() && line[pos] == '"') {
      for (++pos;; ++pos) {
        if (pos == line.size()) return false;
        auto c = static_cast<unsigned char>(line[pos]);
        if (c == '"') break;
        if (c == '\\') {
          if (++pos == line.size()) return false;
          c = static_cast<unsigned char>(line[pos]);
          if (c != '\t' && (c < 0x20 || c == 0x7f)) return false;
        } else if (!IsQuotedStringChar(c)) {
          return false;
        }
      }
      ++pos;
    } else if (!token()) {
      return false;
    }
  }
  *size = value;
  return true;
}

// Applies one header field to *head; 0, or the status of the error it makes.
int ApplyField(std::string_view name, std::string_view value, RequestHead* head, Seen* seen) {
  if (EqualsNoCase(name, "Content-Length")) {
    if (value.empty() || value.size() > 18 ||
        value.find_first_not_of("0123456789") != std::string_view::npos) {
      return 400;
    }
    uint64_t length = std::stoull(std::string(value));
    if (head->content_length && *head->content_length != length) return 400;
    head->content_length = length;
  } else if (EqualsNoCase(name, "Transfer-Encoding")) {
    int status = 0;
    ForEachListItem(value, [&](std::string_view coding) {
      // Only "chunked", once and last, is understood.
      if (!EqualsNoCase(coding, "chunked") || head->chunked) status = 501;
      head->chunked = true;
    });
    if (status != 0 || !head->chunked) return status != 0 ? status : 400;
  } else if (EqualsNoCase(name, "Host")) {
    ++seen->hosts;
    if (!IsHost(value)) return 400;
  } else if (EqualsNoCase(name, "Connection")) {
    // A list of tokens (empty elements allowed, RFC 9110 5.6.1).
    bool tokens = true;
    ForEachListItem(value, [&](std::string_view option) {
      tokens = tokens && IsToken(option);
      if (EqualsNoCase(option, "close")) head->close = true;
      if (EqualsNoCase(option, "keep-alive")) seen->keep_alive = true;
    });
    if (!tokens) return 400;
  } else if (EqualsNoCase(name, "Accept-Encoding")) {
    head->accepts_gzip = head->accepts_gzip || AcceptsGzip(value);
  } else if (EqualsNoCase(name, "Accept")) {
    if (!head->accept.empty()) head->accept += ',';
    head->accept += value;
  } else if (EqualsNoCase(name, "Expect")) {
    if (EqualsNoCase(value, "100-continue")) head->expect_continue = true;
  } else if (EqualsNoCase(name, "Authorization")) {
    if (seen->authorization) return 400;
    seen->authorization = true;
    head->authorization = std::string(value);
  }
  return 0;
}

}  // namespace

bool AcceptsGzip(std::string_view header) {
  bool accepts = false;
  bool decided = false;
  ForEachListItem(header, [&](std::string_view item) {
    if (decided) return;
    size_t semicolon = item.find(';');
    std::string_view coding = Trim(item.substr(0, semicolon));
    if (!EqualsNoCase(coding, "gzip")) return;
    decided = true;
    accepts = true;
    if (semicolon == std::string_view::npos) return;
    std::string_view params = Trim(item.substr(semicolon + 1));
    if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
      // q=0, q=0.0, q=0.000: refused.
      accepts = Trim(params.substr(2)).find_first_not_of("0.") != std::string_view::npos;
    }
  });
  return accepts;
}

HeadResult ParseRequestHead(std::string_view input, size_t* scanned, RequestHead* head) {
  // Empty lines (CRLF) before the request line are skipped; they count toward the head's limit.
  size_t start = 0;
  while (start + 1 < input.size() && input[start] == '\r' && input[start + 1] == '\n') start += 2;
  if (start == input.size() || (start + 1 == input.size() && input[start] == '\r')) {
    return input.size() > kMaxHeadBytes ? Error(400) : HeadResult{};
  }
  // The head ends at the first CRLF CRLF. A CR not followed by LF, or an LF not preceded by CR,
  // is refused as soon as it is seen.
  size_t end = std::string_view::npos;
  for (size_t i = std::max(start, *scanned); i < input.size(); ++i) {
    char c = input[i];
    if (c == '\n') {
      if (i == start || input[i - 1] != '\r') return Error(400);
      if (i >= start + 3 && input[i - 2] == '\n' && input[i - 3] == '\r') {
        end = i + 1;
        break;
      }
    } else if (c == '\r' && i + 1 < input.size() && input[i + 1] != '\n') {
      return Error(400);
    }
  }
  if (end == std::string_view::npos) {
    if (input.size() > kMaxHeadBytes) return Error(431);
    // The last three bytes may begin the head's end: they are looked at again.
    *scanned = std::max(start, input.size() >= 3 ? input.size() - 3 : 0);
    return {};
  }
  if (end > kMaxHeadBytes) return Error(431);

  // The lines of the head, without their CRLF: none holds a CR or LF any more.
  std::vector<std::string_view> lines;
  std::string_view text = input.substr(start, end - 4 - start);
  for (;;) {
    size_t crlf = text.find("\r\n");
    lines.push_back(text.substr(0, crlf));
    if (crlf == std::string_view::npos) break;
    text.remove_prefix(crlf + 2);
  }
  if (lines.size() - 1 > kMaxHeaderFields) return Error(431);

  *head = RequestHead();
  std::string_view request_line = lines[0];
  size_t first_space = request_line.find(' ');
  size_t last_space = request_line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space) return Error(400);
  std::string_view method = request_line.substr(0, first_space);
  std::string_view target = request_line.substr(first_space + 1, last_space - first_space - 1);
  std::string_view version = request_line.substr(last_space + 1);
  if (!IsToken(method) || method.size() > 32 || !ParseTarget(target, &head->path)) {
    return Error(400);
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Error(400);
  }
  if (version[5] != '1') return Error(505);
  head->method = std::string(method);
  head->minor_version = version[7] == '0' ? 0 : 1;

  Seen seen;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view name;
    std::string_view value;
    if (!SplitField(lines[i], &name, &value)) return Error(400);
    if (int status = ApplyField(name, value, head, &seen)) return Error(status);
  }
  // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  if (seen.hosts > 1 || (head->minor_version == 1 && seen.hosts == 0)) return Error(400);
  // A length and a transfer coding together is how requests are smuggled.
  if (head->chunked && (head->content_length || head->minor_version == 0)) return Error(400);
  if (head->minor_version == 0 && !seen.keep_alive) head->close = true;
  *scanned = 0;
  return {.status = ParseStatus::kDone, .consumed = end};
}

ChunkedDecoder::Status ChunkedDecoder::Feed(std::string_view input, std::string* body,
                                            size_t* consumed) {
  size_t pos = 0;
  auto done = [&](Status status) {
    *consumed = pos;
    return status;
  };
  while (pos < input.size()) {
    if (state_ == State::kData) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size() - pos));
      body->append(input.data() + pos, take);
      pos += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = State::kDataEnd;
      continue;
    }
    // The other states read a line, ended by CRLF.
    char c = input[pos++];
    if (state_ == State::kDataEnd) {
      // The CRLF after a chunk's data, and nothing else.
      if (c != (line_bytes_ == 0 ? '\r' : '\n')) return done(Status::kError);
      if (++line_bytes_ == 2) {
        state_ = State::kSizeLine;
        line_bytes_ = 0;
      }
      continue;
    }
    if (state_ == State::kSizeLine) {
      if (++line_bytes_ > kMaxChunkLineBytes) return done(Status::kError);
    } else if (++trailer_bytes_ > kMaxHeadBytes) {
      return done(Status::kError);
    }
    if (c != '\n') {
      line_ += c;
      continue;
    }
    if (line_.empty() || line_.back() != '\r') return done(Status::kError);
    std::string_view line(line_.data(), line_.size() - 1);
    if (line.find('\r') != std::string_view::npos) return done(Status::kError);
    if (state_ == State::kTrailer) {
      // Trailer fields follow the rules of header fields; their meaning is ignored.
      std::string_view name;
      std::string_view value;
      bool last = line.empty();
      if (!last && !SplitField(line, &name, &value)) return done(Status::kError);
      line_.clear();
      if (last) return done(Status::kDone);
      continue;
    }
    uint64_t size = 0;
    if (!ParseChunkLine(line, &size)) return done(Status::kError);
    line_.clear();
    line_bytes_ = 0;
    if (size == 0) {
      state_ = State::kTrailer;
      continue;
    }
    if (size > limit_ || body->size() + size > limit_) return done(Status::kTooLarge);
    remaining_ = size;
    state_ = State::kData;
  }
  return done(Status::kIncomplete);
}

}  // namespace server

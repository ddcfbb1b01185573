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
};

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
  } else if (EqualsNoCase(name, "Connection")) {
    ForEachListItem(value, [&](std::string_view option) {
      if (EqualsNoCase(option, "close")) head->close = true;
      if (EqualsNoCase(option, "keep-alive")) seen->keep_alive = true;
    });
  } else if (EqualsNoCase(name, "Accept-Encoding")) {
    head->accepts_gzip = head->accepts_gzip || AcceptsGzip(value);
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
  size_t start = input.find_first_not_of("\r\n");
  if (start == std::string_view::npos) {
    return input.size() > kMaxHeadBytes ? Error(400) : HeadResult{};
  }
  // The head ends at the first empty line: "\n\n" or "\n\r\n".
  size_t end = std::string_view::npos;
  for (size_t i = std::max(start, *scanned); i < input.size(); ++i) {
    if (input[i] != '\n') continue;
    if (i + 1 < input.size() && input[i + 1] == '\n') {
      end = i + 2;
      break;
    }
    if (i + 2 < input.size() && input[i + 1] == '\r' && input[i + 2] == '\n') {
      end = i + 3;
      break;
    }
  }
  if (end == std::string_view::npos) {
    if (input.size() - start > kMaxHeadBytes) return Error(431);
    *scanned = input.size() >= 2 ? input.size() - 2 : 0;
    return {};
  }
  if (end - start > kMaxHeadBytes) return Error(431);

  std::vector<std::string_view> lines;
  std::string_view text = input.substr(start, end - start);
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
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
    std::string_view line = lines[i];
    size_t colon = line.find(':');
    // No whitespace before the colon, no folded lines.
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return Error(400);
    std::string_view value = Trim(line.substr(colon + 1));
    if (!IsFieldValue(value)) return Error(400);
    if (int status = ApplyField(line.substr(0, colon), value, head, &seen)) {
      return Error(status);
    }
  }
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
    // The other states read a line.
    char c = input[pos++];
    if (c != '\n') {
      if (state_ == State::kSizeLine) {
        if (++line_bytes_ > kMaxChunkLineBytes) return done(Status::kError);
        line_ += c;
      } else if (state_ == State::kDataEnd) {
        if (c != '\r' || ++line_bytes_ > 1) return done(Status::kError);
      } else {
        if (++trailer_bytes_ > kMaxHeadBytes) return done(Status::kError);
        if (c != '\r') ++line_bytes_;
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r') {
          return done(Status::kError);
        }
      }
      continue;
    }
    if (state_ == State::kDataEnd) {
      state_ = State::kSizeLine;
      line_bytes_ = 0;
      continue;
    }
    if (state_ == State::kTrailer) {
      bool empty = line_bytes_ == 0;
      line_bytes_ = 0;
      if (empty) return done(Status::kDone);
      continue;
    }
    // The end of a chunk-size line: hex digits, then optional extensions after ';'.
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view digits = Trim(line.substr(0, line.find(';')));
    if (digits.empty() || digits.size() > 15 ||
        digits.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
      return done(Status::kError);
    }
    uint64_t size = std::stoull(std::string(digits), nullptr, 16);
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

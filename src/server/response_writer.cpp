#include "server/response_writer.h"

#include <algorithm>
#include <string_view>

namespace server {
namespace {

// A body read from its stream is read this much at a time.
constexpr size_t kCopyBlock = 64 * 1024;
// Buffers kept for the next answers (1 MiB): a fresh buffer per answer would be mapped, faulted
// in and unmapped each time, at several times the cost of filling it.
constexpr size_t kSpareBlocks = 16;

// Answers live on the event-loop thread: its blocks are its own.
std::vector<std::string>& SpareBlocks() {
  thread_local std::vector<std::string> spare;
  return spare;
}

std::string TakeBlock() {
  auto& spare = SpareBlocks();
  std::string block;
  if (!spare.empty()) {
    block = std::move(spare.back());
    spare.pop_back();
    block.clear();
  } else {
    block.reserve(kCopyBlock);
  }
  return block;
}

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

iovec Piece(std::string_view text) { return {const_cast<char*>(text.data()), text.size()}; }

}  // namespace

Response ErrorResponse(int status) {
  return Response{.status = status, .body = std::string(Reason(status)) + "\n"};
}

OutgoingResponse::OutgoingResponse(Response response, const Options& options)
    : response_(std::move(response)) {
  if (response_.stream && !options.head_only && response_.stream->read) {
    read_ = response_.stream->read;
    unread_ = response_.stream->size;
  } else if (response_.stream && !options.head_only) {
    const StreamBody& stream = *response_.stream;
    bool ok = false;
    size_t total = 0;
    try {
      ok = stream.write([&](std::string_view piece) {
        if (!piece.empty()) pieces_.push_back(Piece(piece));
        total += piece.size();
        return true;
      });
    } catch (...) {
      ok = false;
    }
    if (!ok || total != stream.size) {
      pieces_.clear();
      response_ = ErrorResponse(500);
    }
  }
  if (!response_.stream && !options.head_only && !response_.body.empty()) {
    pieces_.push_back(Piece(response_.body));
  }
  Render(options);
}

OutgoingResponse::~OutgoingResponse() {
  auto& spare = SpareBlocks();
  if (buffer_.capacity() >= kCopyBlock && spare.size() < kSpareBlocks)
    spare.push_back(std::move(buffer_));
}

OutgoingResponse::OutgoingResponse(Continue) : head_("HTTP/1.1 100 Continue\r\n\r\n") {
  pieces_.push_back(Piece(head_));
}

void OutgoingResponse::Render(const Options& options) {
  bool no_body = response_.status == 204 || response_.status == 304;
  size_t length = response_.stream ? response_.stream->size : response_.body.size();
  head_.reserve(256 + options.extra_headers.size());
  head_ += "HTTP/1.1 ";
  head_ += std::to_string(response_.status);
  head_ += ' ';
  head_ += Reason(response_.status);
  head_ += "\r\nContent-Type: ";
  head_ += response_.content_type;
  if (!no_body) {
    head_ += "\r\nContent-Length: ";
    head_ += std::to_string(length);
  }
  if (!response_.content_encoding.empty()) {
    head_ += "\r\nContent-Encoding: ";
    head_ += response_.content_encoding;
  }
  // Browsers open the landing page: none may guess another type than the one given.
  head_ += "\r\nVary: Accept-Encoding\r\nX-Content-Type-Options: nosniff\r\n";
  if (options.close) {
    head_ += "Connection: close\r\n";
  } else if (options.keep_alive_1_0) {
    head_ += "Connection: keep-alive\r\n";
  }
  head_ += options.extra_headers;
  head_ += "\r\n";
  if (no_body) pieces_.clear();
  pieces_.insert(pieces_.begin(), Piece(head_));
}

void OutgoingResponse::Refill() {
  if (buffer_.capacity() < kCopyBlock) buffer_ = TakeBlock();
  buffer_.resize(std::min(kCopyBlock, unread_));
  size_t got = 0;
  try {
    got = read_(buffer_.data(), buffer_.size());
  } catch (...) {
    got = 0;
  }
  if (got == 0 || got > buffer_.size()) {
    broken_ = true;
    return;
  }
  buffer_.resize(got);
  unread_ -= got;
  pieces_.clear();
  pieces_.push_back(Piece(buffer_));
  index_ = 0;
  offset_ = 0;
}

int OutgoingResponse::Pending(iovec* out, int max) {
  if (index_ >= pieces_.size() && unread_ > 0 && !broken_) Refill();
  if (broken_) return 0;
  int count = 0;
  for (size_t i = index_; i < pieces_.size() && count < max; ++i, ++count) {
    out[count] = pieces_[i];
    if (i == index_) {
      out[count].iov_base = static_cast<char*>(out[count].iov_base) + offset_;
      out[count].iov_len -= offset_;
    }
  }
  return count;
}

bool OutgoingResponse::Advance(size_t bytes) {
  while (bytes > 0 && index_ < pieces_.size()) {
    size_t left = pieces_[index_].iov_len - offset_;
    if (bytes < left) {
      offset_ += bytes;
      return false;
    }
    bytes -= left;
    ++index_;
    offset_ = 0;
  }
  return index_ >= pieces_.size() && unread_ == 0;
}

}  // namespace server

#include "creatify/job.h"

namespace creatify {
namespace {

void AppendLength(std::string* out, size_t length) {
  while (length >= 0x80) {
    out->push_back(static_cast<char>((length & 0x7f) | 0x80));
    length >>= 7;
  }
  out->push_back(static_cast<char>(length));
}

// Reads a length at *at and the text after it; moves *at past both.
std::string_view ReadText(const char** at) {
  size_t length = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*(*at)++);
    length |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  std::string_view text(*at, length);
  *at += length;
  return text;
}

}  // namespace

void InfoFields::emplace_back(std::string_view name, std::string_view value) {
  AppendLength(&data_, name.size());
  data_.append(name);
  AppendLength(&data_, value.size());
  data_.append(value);
}

InfoFields::value_type InfoFields::Iterator::operator*() const {
  const char* at = at_;
  const std::string_view name = ReadText(&at);
  return {name, ReadText(&at)};
}

InfoFields::Iterator& InfoFields::Iterator::operator++() {
  ReadText(&at_);
  ReadText(&at_);
  return *this;
}

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kPending:
      return "pending";
    case Status::kInQueue:
      return "in_queue";
    case Status::kRunning:
      return "running";
    case Status::kFailed:
      return "failed";
    case Status::kDone:
      return "done";
    case Status::kRejected:
      return "rejected";
    case Status::kUnknown:
      break;
  }
  return "unknown";
}

Status ParseStatus(std::string_view word) {
  for (Status status : kAllStatuses) {
    if (status != Status::kUnknown && StatusName(status) == word) return status;
  }
  return Status::kUnknown;
}

bool IsTerminal(Status status) {
  return status == Status::kDone || status == Status::kFailed || status == Status::kRejected;
}

}  // namespace creatify

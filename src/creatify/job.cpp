#include "creatify/job.h"

namespace creatify {

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

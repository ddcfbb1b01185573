// The job model: what the exporter knows of one Creatify job, independent of its kind, and the
// status vocabulary. Plain values; no synchronisation needed.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace creatify {

enum class Status { kPending, kInQueue, kRunning, kFailed, kDone, kRejected, kUnknown };

// Every status, in the order metrics render them.
inline constexpr std::array<Status, 7> kAllStatuses = {
    Status::kPending, Status::kInQueue,  Status::kRunning, Status::kFailed,
    Status::kDone,    Status::kRejected, Status::kUnknown};

// The terminal statuses, the ones creatify_jobs_completed_total counts.
inline constexpr std::array<Status, 3> kTerminalStatuses = {Status::kDone, Status::kFailed,
                                                            Status::kRejected};

// The label value: "pending", "in_queue", ... "unknown".
std::string_view StatusName(Status status);

// Maps the API's word to a status; anything outside the vocabulary is kUnknown.
Status ParseStatus(std::string_view word);

// done, failed and rejected: a terminal job does not change again.
bool IsTerminal(Status status);

struct Job {
  std::string id;
  // nullopt when the response had no usable status; the store then keeps the last known one.
  std::optional<Status> status;
  // The status word exactly as sent, for logs (kUnknown hides it otherwise).
  std::string raw_status;
  // Normalised to 0..1.
  std::optional<double> progress;
  // The length of the produced video, in seconds (the API's `duration`).
  std::optional<double> video_duration_seconds;
  std::optional<double> credits_used;
  // Unix time, seconds.
  std::optional<double> created_at;
  std::optional<double> updated_at;
  // The kind's info fields that were sent as strings, in KindSpec::info_fields order.
  std::vector<std::pair<std::string, std::string>> info;
  // The API's failed_reason when sent as a non-empty string (any kind). Read for the counting of
  // a terminal transition (a breakdown may use it); the store does not keep it.
  std::string failed_reason;
  // Fields the response sent with an unusable type or value (left unset above).
  std::vector<std::string> invalid_fields;

  friend bool operator==(const Job&, const Job&) = default;
};

}  // namespace creatify

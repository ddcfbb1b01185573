// The job model: what the exporter knows of one Creatify job, independent of its kind, and the
// status vocabulary. Plain values; no synchronisation needed.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <limits>
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

// A number that may be unset, in the room of a double (std::optional<double> takes two): unset is
// a NaN. Neither JSON (the API's format) nor SQLite (the state file's) has a NaN, so no value read
// is one; a NaN assigned leaves it unset. Used like std::optional<double>.
class OptionalNumber {
 public:
  OptionalNumber() = default;
  OptionalNumber(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): as std::optional
  OptionalNumber(double value) : value_(value) {}     // NOLINT(google-explicit-constructor)
  OptionalNumber(const std::optional<double>& value)  // NOLINT(google-explicit-constructor)
      : value_(value.value_or(kUnset)) {}

  bool has_value() const { return !std::isnan(value_); }
  explicit operator bool() const { return has_value(); }
  // The value; only when has_value().
  double operator*() const { return value_; }
  double value_or(double fallback) const { return has_value() ? value_ : fallback; }
  void reset() { value_ = kUnset; }
  std::optional<double> optional() const {
    return has_value() ? std::optional<double>(value_) : std::nullopt;
  }

  friend bool operator==(OptionalNumber a, OptionalNumber b) {
    return a.has_value() == b.has_value() && (!a.has_value() || a.value_ == b.value_);
  }
  friend bool operator==(OptionalNumber a, std::nullopt_t) { return !a.has_value(); }
  friend bool operator==(OptionalNumber a, const std::optional<double>& b) {
    return a == OptionalNumber(b);
  }
  // Set and equal to `value`, as std::optional.
  friend bool operator==(OptionalNumber a, double value) {
    return a.has_value() && a.value_ == value;
  }

 private:
  static constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();
  double value_ = kUnset;
};

// A job's info fields, (name, value) pairs in order, held in one string (each pair as the name's
// length, the name, the value's length, the value; lengths as LEB128 varints): one allocation per
// job, where a vector of string pairs takes one for the vector and one per long string.
class InfoFields {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = InfoFields::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    Iterator() = default;
    value_type operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.at_ == b.at_; }

   private:
    friend class InfoFields;
    explicit Iterator(const char* at) : at_(at) {}
    const char* at_ = nullptr;
  };

  InfoFields() = default;
  InfoFields(std::initializer_list<value_type> pairs) {
    for (const auto& [name, value] : pairs) emplace_back(name, value);
  }

  void emplace_back(std::string_view name, std::string_view value);
  void push_back(const value_type& pair) { emplace_back(pair.first, pair.second); }
  void clear() { data_.clear(); }
  bool empty() const { return data_.empty(); }
  size_t size() const { return static_cast<size_t>(std::distance(begin(), end())); }
  Iterator begin() const { return Iterator(data_.data()); }
  Iterator end() const { return Iterator(data_.data() + data_.size()); }
  // The i-th pair; i < size().
  value_type operator[](size_t i) const { return *std::next(begin(), static_cast<ptrdiff_t>(i)); }

  friend bool operator==(const InfoFields&, const InfoFields&) = default;

 private:
  std::string data_;
};

// What the store keeps of a job: the fields its metrics and counts are made of.
struct JobFields {
  std::string id;
  // nullopt when the response had no usable status; the store then keeps the last known one.
  std::optional<Status> status;
  // Normalised to 0..1.
  OptionalNumber progress;
  // The length of the produced video, in seconds (the API's `duration`).
  OptionalNumber video_duration_seconds;
  OptionalNumber credits_used;
  // Unix time, seconds.
  OptionalNumber created_at;
  OptionalNumber updated_at;
  // The kind's info fields that were sent as non-empty strings, in KindSpec::info_fields order.
  InfoFields info;

  friend bool operator==(const JobFields&, const JobFields&) = default;
};

// A job as one answer sent it: the kept fields, and what matters only while the answer is read.
struct Job : JobFields {
  // The status word exactly as sent, for logs (kUnknown hides it otherwise).
  std::string raw_status;
  // The API's failed_reason when sent as a non-empty string (any kind). Read for the counting of
  // a terminal transition (a breakdown may use it); the store does not keep it.
  std::string failed_reason;
  // Fields the response sent with an unusable type or value (left unset above).
  std::vector<std::string> invalid_fields;

  friend bool operator==(const Job&, const Job&) = default;
};

}  // namespace creatify

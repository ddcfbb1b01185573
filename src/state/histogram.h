// A Prometheus-style histogram as a plain value: fixed upper bounds, per-bucket counts, sum and
// count. Not synchronised; the store owns and copies it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace state {

class Histogram {
 public:
  Histogram() = default;
  // `upper_bounds` ascending, without +Inf (the last bucket is implicit).
  explicit Histogram(std::vector<double> upper_bounds);
  // A histogram continued from stored values: `bucket_counts` has one (non-cumulative) count per
  // upper bound plus the +Inf bucket, and adds up to `count`. nullopt when they do not agree.
  static std::optional<Histogram> FromBuckets(std::vector<double> upper_bounds,
                                              std::vector<uint64_t> bucket_counts, double sum,
                                              uint64_t count);

  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Cumulative count of observations <= upper_bounds()[i]; the +Inf bucket is count().
  uint64_t CumulativeCount(size_t i) const;
  // Per bucket, not cumulative; the last one is the +Inf bucket.
  const std::vector<uint64_t>& bucket_counts() const { return bucket_counts_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

  friend bool operator==(const Histogram&, const Histogram&) = default;

 private:
  std::vector<double> upper_bounds_;
  // One per upper bound plus the +Inf bucket; not cumulative.
  std::vector<uint64_t> bucket_counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Render times: seconds to a day.
const std::vector<double>& ProcessingBuckets();
// Time a job spent queued, or running: seconds to a day.
const std::vector<double>& StageBuckets();
// One API request.
const std::vector<double>& ApiRequestBuckets();
// One whole poll cycle.
const std::vector<double>& PollBuckets();

}  // namespace state

#include "state/histogram.h"

#include <algorithm>
#include <cmath>

namespace state {

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), bucket_counts_(upper_bounds_.size() + 1, 0) {}

std::optional<Histogram> Histogram::FromBuckets(std::vector<double> upper_bounds,
                                                std::vector<uint64_t> bucket_counts, double sum,
                                                uint64_t count) {
  if (bucket_counts.size() != upper_bounds.size() + 1) return std::nullopt;
  if (!std::is_sorted(upper_bounds.begin(), upper_bounds.end())) return std::nullopt;
  uint64_t total = 0;
  for (uint64_t c : bucket_counts) total += c;
  if (total != count || std::isnan(sum)) return std::nullopt;
  Histogram histogram(std::move(upper_bounds));
  histogram.bucket_counts_ = std::move(bucket_counts);
  histogram.sum_ = sum;
  histogram.count_ = count;
  return histogram;
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  bucket_counts_[static_cast<size_t>(it - upper_bounds_.begin())]++;
  count_++;
  sum_ += value;
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= i && b < bucket_counts_.size(); ++b) total += bucket_counts_[b];
  return total;
}

const std::vector<double>& ProcessingBuckets() {
  static const std::vector<double> kBuckets = {15,   30,   60,   120,   300,   600,  900,
                                               1800, 3600, 7200, 14400, 28800, 86400};
  return kBuckets;
}

const std::vector<double>& StageBuckets() {
  static const std::vector<double> kBuckets = {1,    5,    15,   30,   60,    120,   300,  600,
                                               1200, 1800, 3600, 7200, 14400, 28800, 86400};
  return kBuckets;
}

const std::vector<double>& ApiRequestBuckets() {
  static const std::vector<double> kBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return kBuckets;
}

const std::vector<double>& PollBuckets() {
  static const std::vector<double> kBuckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  return kBuckets;
}

}  // namespace state

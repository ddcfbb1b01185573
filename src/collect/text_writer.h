// Writes Prometheus' text exposition format 0.0.4 straight into a string: family headers and
// samples, with the format's escaping and locale-independent, shortest round-trip numbers. The
// one writer every family goes through, so that a second format is a second writer.
// Not synchronised: one writer per thread.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "state/histogram.h"

namespace collect {

using Label = std::pair<std::string_view, std::string_view>;

// Appends `value` as Prometheus parses it: NaN, +Inf, -Inf, integers without a fraction or an
// exponent (up to 2^53), every other finite value in the shortest form that reads back exactly.
void AppendNumber(std::string& out, double value);

// The two exposition formats: Prometheus text 0.0.4, and OpenMetrics 1.0.0 (counter families
// named without `_total`, `# UNIT` for a family whose name ends in a unit, `_created` samples,
// canonical `le` values, and `# EOF` last, which the caller appends).
enum class Format { kText, kOpenMetrics };

class TextWriter {
 public:
  explicit TextWriter(std::string* out, Format format = Format::kText)
      : out_(*out), format_(format) {}
  bool open_metrics() const { return format_ == Format::kOpenMetrics; }

  // # HELP and # TYPE lines (and # UNIT in OpenMetrics). `type`: counter, gauge or histogram; a
  // counter's `name` ends in _total.
  void Family(std::string_view name, std::string_view help, std::string_view type);

  // A counter's sample (`name` ends in _total); in OpenMetrics followed by its _created sample,
  // `created` the Unix time it started counting.
  void Counter(std::string_view name, std::span<const Label> labels, double value, double created);
  void Counter(std::string_view name, std::initializer_list<Label> labels, double value,
               double created) {
    Counter(name, std::span<const Label>(labels.begin(), labels.size()), value, created);
  }

  // name{labels} value. Label values are escaped; control characters other than the newline
  // become spaces (Prometheus' parser refuses them).
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void Sample(std::string_view name, const Label* labels, size_t count, double value);
  void Sample(std::string_view name, std::span<const Label> labels, double value) {
    Sample(name, labels.data(), labels.size(), value);
  }

  // The _count, _sum and _bucket samples of a histogram, the last label being le.
  void Histogram(std::string_view name, std::initializer_list<Label> labels,
                 const state::Histogram& histogram) {
    Histogram(name, std::span<const Label>(labels.begin(), labels.size()), histogram);
  }
  void Histogram(std::string_view name, std::span<const Label> labels,
                 const state::Histogram& histogram);
  // In OpenMetrics, with its _created sample.
  void Histogram(std::string_view name, std::span<const Label> labels,
                 const state::Histogram& histogram, double created);
  void Histogram(std::string_view name, std::initializer_list<Label> labels,
                 const state::Histogram& histogram, double created) {
    Histogram(name, std::span<const Label>(labels.begin(), labels.size()), histogram, created);
  }

 private:
  void Labels(const Label* labels, size_t count, const Label* extra);
  void Buckets(std::string_view name, std::span<const Label> labels,
               const state::Histogram& histogram);

  std::string& out_;
  Format format_;
};

}  // namespace collect

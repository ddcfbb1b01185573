// Renders a store snapshot into Prometheus metric families, the kube-state-metrics way: every
// family is a small generator over the immutable snapshot. Render is a pure function; Collector
// is a prometheus::Collectable that renders the store's current snapshot, safe to call from any
// number of scrape threads at once.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "state/store.h"

namespace collect {

struct RenderOptions {
  bool per_job_metrics = true;
  std::string version;
  std::string revision;
};

std::vector<prometheus::MetricFamily> Render(const state::Snapshot& snapshot,
                                             const RenderOptions& options);

// The text exposition format 0.0.4 of Render's families.
std::string RenderText(const state::Snapshot& snapshot, const RenderOptions& options);

class Collector : public prometheus::Collectable {
 public:
  using SnapshotSource = std::function<std::shared_ptr<const state::Snapshot>()>;
  Collector(SnapshotSource source, RenderOptions options);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  SnapshotSource source_;
  RenderOptions options_;
};

}  // namespace collect

// The counted series of a snapshot (every counter and histogram that persists), each named by the
// key its row has in the state file: (family, label1, label2), label1 the kind or the endpoint,
// label2 the status, field, reason, code or breakdown key. The persistence writes its rows by
// these keys, the store keeps when each series started counting by them (Snapshot::created), and
// the renderer finds that time by them (the OpenMetrics `_created` samples).
#pragma once

#include <array>
#include <functional>
#include <string>

#include "state/histogram.h"
#include "state/store.h"

namespace state {

// A breakdown combination as the JSON array [status,] field, value, field, value...: the label2
// of its rows. A value that is not UTF-8 has its bad bytes replaced: this never throws.
std::string BreakdownKeyText(const BreakdownKey& key, std::optional<creatify::Status> status);

// Calls counter(key, value) and histogram(key, histogram) for every counted series of `snapshot`
// (its kinds, the breakdown, the API requests and durations, the poll durations, the webhook
// calls), in a fixed order.
void ForEachCountedSeries(const Snapshot& snapshot,
                          const std::function<void(SeriesKey, double)>& counter,
                          const std::function<void(SeriesKey, const Histogram&)>& histogram);

// The time a counted series started counting: Snapshot::created's, else `fallback`.
double CreatedAt(const Snapshot& snapshot, const SeriesKey& key, double fallback);

}  // namespace state

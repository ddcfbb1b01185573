#include "state/series.h"

#include <nlohmann/json.hpp>

namespace state {

std::string BreakdownKeyText(const BreakdownKey& key, std::optional<creatify::Status> status) {
  std::vector<std::string> words;
  words.reserve(key.size() * 2 + 1);
  if (status) words.emplace_back(creatify::StatusName(*status));
  for (const auto& [field, value] : key) {
    words.push_back(field);
    words.push_back(value);
  }
  return nlohmann::json(words).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void ForEachCountedSeries(const Snapshot& snapshot,
                          const std::function<void(SeriesKey, double)>& counter,
                          const std::function<void(SeriesKey, const Histogram&)>& histogram) {
  for (const auto& kind : snapshot.kinds) {
    for (const auto& [status, value] : kind.completed) {
      counter({"completed", kind.name, std::string(creatify::StatusName(status))}, value);
    }
    counter({"credits_used", kind.name, ""}, kind.credits_used);
    counter({"invalid_items", kind.name, ""}, kind.invalid_items);
    for (const auto& [field, value] : kind.invalid_fields) {
      counter({"invalid_fields", kind.name, field}, value);
    }
    for (const auto& [reason, value] : kind.dropped) counter({"dropped", kind.name, reason}, value);
    for (const auto& [status, h] : kind.processing) {
      histogram({"processing", kind.name, std::string(creatify::StatusName(status))}, h);
    }
    for (const auto& [stage, h] : kind.stage) histogram({"stage", kind.name, stage}, h);
    for (const auto& [key, count] : kind.breakdown) {
      counter({"breakdown_credits", kind.name, BreakdownKeyText(key, std::nullopt)},
              count.credits_used);
      for (const auto& [status, value] : count.completed) {
        counter({"breakdown_completed", kind.name, BreakdownKeyText(key, status)}, value);
      }
    }
  }
  for (const auto& [key, value] : snapshot.webhook_requests) {
    counter({"webhook_requests", key.first, key.second}, value);
  }
  for (const auto& [key, value] : snapshot.api_requests) {
    counter({"api_requests", key.first, key.second}, value);
  }
  for (const auto& [key, value] : snapshot.webhook_forwards) {
    counter({"webhook_forwards", key.first, key.second}, value);
  }
  for (const auto& [endpoint, h] : snapshot.api_request_duration) {
    histogram({"api_request_duration", endpoint, ""}, h);
  }
  histogram({"poll_duration", "", ""}, snapshot.poll_duration);
  for (const auto& [name, workspace] : snapshot.workspaces) {
    histogram({"poll_duration", name, ""}, workspace.poll_duration);
  }
}

double CreatedAt(const Snapshot& snapshot, const SeriesKey& key, double fallback) {
  if (!snapshot.created) return fallback;
  auto it = snapshot.created->find(key);
  return it != snapshot.created->end() ? it->second : fallback;
}

}  // namespace state

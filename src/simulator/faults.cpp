#include "simulator/faults.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

namespace simulator {
namespace {

struct ModeName {
  std::string_view name;
  FaultMode mode;
};

constexpr ModeName kModes[] = {
    {"none", FaultMode::kNone},       {"status", FaultMode::kStatus},
    {"body", FaultMode::kBody},       {"hang", FaultMode::kHang},
    {"reset", FaultMode::kReset},     {"truncate", FaultMode::kTruncate},
    {"endless", FaultMode::kEndless}, {"oversize", FaultMode::kOversize},
};

std::string_view NameOf(FaultMode mode) {
  for (const auto& entry : kModes) {
    if (entry.mode == mode) return entry.name;
  }
  return "none";
}

std::optional<int> Int(std::string_view text, int min, int max) {
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string FaultSwitch::Set(const Pairs& query, std::string body) {
  Fault next;
  std::optional<FaultMode> mode;
  for (const auto& [name, value] : query) {
    if (name == "mode") {
      for (const auto& entry : kModes) {
        if (entry.name == value) mode = entry.mode;
      }
      if (!mode) return "unknown mode \"" + value + "\"";
    } else if (name == "path") {
      next.path = value;
    } else if (name == "status") {
      auto status = Int(value, 100, 599);
      if (!status) return "status: expected 100 to 599";
      next.status = *status;
    } else if (name == "retry_after") {
      auto seconds = Int(value, 0, 86400);
      if (!seconds) return "retry_after: expected 0 to 86400 seconds";
      next.retry_after = *seconds;
    } else if (name == "content_type") {
      next.content_type = value;
    } else if (name == "delay_ms") {
      auto delay = Int(value, 0, 3'600'000);
      if (!delay) return "delay_ms: expected 0 to 3600000";
      next.delay = Millis(*delay);
    } else {
      return "unknown parameter \"" + name + "\"";
    }
  }
  if (!mode) return "mode is required";
  next.mode = *mode;
  if (next.mode == FaultMode::kStatus && next.status == 0) return "mode=status needs status";
  if (next.mode == FaultMode::kBody) {
    next.body = std::move(body);
    if (next.status == 0) next.status = 200;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    next.generation = fault_.generation + 1;
    fault_ = std::move(next);
    set_at_ = std::chrono::steady_clock::now();
    hits_ms_.clear();
  }
  changed_.notify_all();
  return "";
}

std::optional<Fault> FaultSwitch::Match(std::string_view path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fault_.mode == FaultMode::kNone) return std::nullopt;
  if (!fault_.path.empty() && path.find(fault_.path) == std::string_view::npos) {
    return std::nullopt;
  }
  hits_ms_.push_back(static_cast<long>(
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - set_at_).count()));
  return fault_;
}

void FaultSwitch::Hold(const Fault& fault) {
  std::unique_lock<std::mutex> lock(mu_);
  auto over = [&] { return shutdown_ || fault_.generation != fault.generation; };
  if (fault.delay) {
    changed_.wait_for(lock, *fault.delay, over);
  } else {
    changed_.wait(lock, over);
  }
}

bool FaultSwitch::Current(const Fault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  return !shutdown_ && fault_.generation == fault.generation;
}

void FaultSwitch::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  changed_.notify_all();
}

std::string FaultSwitch::StateJson() {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json state = {
      {"mode", NameOf(fault_.mode)}, {"path", fault_.path}, {"hits_ms", hits_ms_}};
  return state.dump();
}

}  // namespace simulator

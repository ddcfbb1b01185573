// Faults switched on and off while the simulator runs (POST /sim/fault), so that a test can
// break the API in one precise way, watch the exporter, and mend it. The random faults of the
// command line (--fault-429 ...) are the model's; these are whole modes that hold until changed.
// Thread-safe: one mutex guards the current fault and its hits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simulator/model.h"

namespace simulator {

enum class FaultMode {
  kNone,
  // Answer with `status` (and Retry-After when `retry_after` is set), a JSON error body.
  kStatus,
  // Answer with `status` (200 unless given), `body` and `content_type`.
  kBody,
  // Hold the request: until the fault changes when `delay` is unset, else for `delay`; then
  // answer normally.
  kHang,
  // Send the headers and half the body, then close the connection.
  kReset,
  // A complete response whose JSON body is cut in half.
  kTruncate,
  // A body without end, chunked (no Content-Length), until the client hangs up.
  kEndless,
  // A Content-Length of a terabyte, and the body streamed until the client hangs up.
  kOversize,
};

struct Fault {
  FaultMode mode = FaultMode::kNone;
  // Only /api/ paths that contain this; empty: every /api/ path.
  std::string path;
  int status = 0;
  std::optional<int> retry_after;
  std::string body;
  std::string content_type = "application/json";
  std::optional<Millis> delay;
  // Bumped by every Set: a held request ends when it changes.
  std::uint64_t generation = 0;
};

class FaultSwitch {
 public:
  // POST /sim/fault?mode=none|status|body|hang|reset|truncate|endless|oversize
  //   [&path=/api/...][&status=N][&retry_after=S][&content_type=T][&delay_ms=N], the request
  // body being the body of mode=body. Returns an error message for a bad request, else "".
  std::string Set(const Pairs& query, std::string body);

  // The fault for an /api/ request to `path`, if one applies; counts it as a hit.
  std::optional<Fault> Match(std::string_view path);

  // Holds the caller while `fault` is current (or for its delay), until Shutdown.
  void Hold(const Fault& fault);

  // Whether `fault` is still the current one and the simulator is not stopping.
  bool Current(const Fault& fault);

  // Ends every Hold.
  void Shutdown();

  // GET /sim/fault: {"mode": "...", "hits_ms": [...]}: milliseconds from the Set to each hit.
  std::string StateJson();

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  Fault fault_;                                   // guarded by mu_
  std::chrono::steady_clock::time_point set_at_;  // guarded by mu_
  std::vector<long> hits_ms_;                     // guarded by mu_
  bool shutdown_ = false;                         // guarded by mu_
};

}  // namespace simulator

// The wall clock the store, the poller and the start-up steps read: Unix seconds as a double, the
// unit of every timestamp the exporter keeps and exposes. Thread-safe.
#pragma once

#include <chrono>

namespace state {

inline double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace state

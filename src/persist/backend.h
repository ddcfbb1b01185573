// What a persistence backend is to the rest of the exporter: something that durably applies the
// store's changed rows and counters. The SQLite state file is the one backend today; a shared
// backend (for an HA pair) would implement the same call. Implementations need not be
// thread-safe: the Writer calls Write from one thread at a time.
#pragma once

#include <string>

#include "state/store.h"

namespace persist {

class Backend {
 public:
  virtual ~Backend() = default;

  // Applies `changes` in order and stores `snapshot`'s counters and histograms, all or nothing.
  // `snapshot` is the one that holds exactly `changes` (Store::TakeChanges(&snapshot)). Applying
  // the same rows again is harmless, so a failed write's changes can be merged into the next.
  // On failure returns false with a one-line *error, and nothing was written.
  virtual bool Write(const state::Changes& changes, const state::Snapshot& snapshot,
                     std::string* error) = 0;
};

}  // namespace persist

// The background thread that writes the store's changes to a persistence backend, so that
// writing never holds up a poll or a scrape. Notify (after each Apply) wakes it; it takes the
// changed rows and the matching snapshot from the store and writes them in one Backend::Write.
// A failed write (disk full, read-only volume) is counted in the store (RecordWrite), logged
// once per distinct error, and its changes are kept and written with the next attempt.
//
// Thread-safety: Notify, Flush and Stop may be called from any thread. The Writer keeps no copy
// of the jobs beyond the pending changes (which share the store's records).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "persist/backend.h"
#include "state/store.h"

namespace persist {

class Writer {
 public:
  using Listener = std::function<void(const std::shared_ptr<const state::Snapshot>&)>;

  // Starts the thread. `now` gives Unix seconds (the time of a write, for the store's metrics).
  // `written`, when set, is called on the writing thread with each snapshot once its write was
  // attempted: publishing from it means /metrics never shows a count a crash could take back
  // (unless the write failed; serving goes on regardless).
  Writer(Backend& backend, state::Store& store, std::function<double()> now,
         Listener written = nullptr);
  // Stops (with the final write) if Stop was not called.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Wakes the thread for a write; never blocks on a write in progress.
  void Notify();
  // Writes what is pending now on the calling thread; true when nothing is left pending.
  bool Flush();
  // Stops the thread and writes what is still pending (call after the last Apply). Idempotent.
  void Stop();

 private:
  void Loop();

  Backend& backend_;
  state::Store& store_;
  std::function<double()> now_;
  Listener written_;

  std::mutex write_mutex_;
  state::Changes pending_;  // guarded by write_mutex_: failed changes, kept for the next write
  std::string last_error_;  // guarded by write_mutex_: the error last logged, "" when writing

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool notified_ = false;  // guarded by wake_mutex_
  bool stopping_ = false;  // guarded by wake_mutex_
  std::thread thread_;
};

}  // namespace persist

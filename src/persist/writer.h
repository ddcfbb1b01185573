// The background thread that writes the store's changes to a persistence backend, so that
// writing never holds up a poll or a scrape. Notify (after each Apply) wakes it; it takes the
// changed rows and the matching snapshot from the store and writes them in one Backend::Write.
// A failed write (disk full, read-only volume) is counted in the store (RecordWrite), logged
// once per distinct error, and its changes are kept and written with the next attempt: only the
// last change of each row is kept, so they stay bounded by the rows that exist.
//
// The contract with /metrics: a snapshot is handed on (`written`) only after its write was
// attempted, and while writes fail it is handed on with the counters of the last snapshot that
// was written (state::WithDurableCounters). A scrape therefore never sees a count that a crash
// could take back; during a write outage the counters stand still while gauges stay live, and
// they catch up with the first write that succeeds.
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
  // attempted (with the durable counters when it failed): publishing from it means /metrics never
  // shows a count a crash could take back. The store's current snapshot when the Writer is made
  // is taken as durable (it was restored, or is empty).
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
  // Guarded by write_mutex_: the last snapshot known to be on disk.
  std::shared_ptr<const state::Snapshot> durable_;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool notified_ = false;  // guarded by wake_mutex_
  bool stopping_ = false;  // guarded by wake_mutex_
  std::thread thread_;
};

}  // namespace persist

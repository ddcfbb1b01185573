#include "persist/writer.h"

#include "log/log.h"

namespace persist {

Writer::Writer(Backend& backend, state::Store& store, std::function<double()> now, Listener written)
    : backend_(backend),
      store_(store),
      now_(std::move(now)),
      written_(std::move(written)),
      durable_(store.Current()) {
  thread_ = std::thread([this] { Loop(); });
}

Writer::~Writer() { Stop(); }

void Writer::Notify() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void Writer::Loop() {
  std::unique_lock<std::mutex> lock(wake_mutex_);
  while (true) {
    wake_.wait(lock, [this] { return notified_ || stopping_; });
    if (stopping_) return;
    notified_ = false;
    lock.unlock();
    Flush();
    lock.lock();
  }
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
    Flush();
  }
}

bool Writer::Flush() {
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::shared_ptr<const state::Snapshot> snapshot;
  pending_.Merge(store_.TakeChanges(&snapshot));
  std::string error;
  const bool ok = backend_.Write(pending_, *snapshot, &error);
  store_.RecordWrite(ok, now_());
  if (ok) durable_ = snapshot;
  if (written_) {
    written_(ok ? snapshot
                : std::make_shared<const state::Snapshot>(
                      state::WithDurableCounters(*snapshot, *durable_)));
  }
  if (ok) {
    pending_ = {};
    if (!last_error_.empty()) {
      logging::Info("The state file is written again");
      last_error_.clear();
    }
    return true;
  }
  if (error != last_error_) {
    logging::Warn(
        "Cannot write the state; polling and serving go on, and the changes are kept for the "
        "next write",
        {{"error", error}, {"pending_changes", std::to_string(pending_.ops.size())}});
    last_error_ = error;
  }
  return false;
}

}  // namespace persist

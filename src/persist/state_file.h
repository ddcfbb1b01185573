// The exporter's state in an embedded SQLite database (WAL mode): the tracked jobs, the finished
// ids remembered, every counter and histogram, and the time from which the exporter has watched.
// Each Write is one transaction, so a crash at any instant leaves the last committed write whole.
//
// A file that cannot be restored (unreadable, corrupt, truncated, empty, an unknown schema
// version) never stops the exporter: it is moved aside as <path>.corrupt-<UTC time> (with its
// -wal and -shm), never deleted, and the exporter starts afresh. When the file cannot be created
// at all (a missing or read-only directory), writes fail and are retried with the next one, which
// then writes everything since the start.
//
// Thread-safety: none; one thread at a time (the Writer serialises its calls). sqlite3 stays
// inside state_file.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "persist/backend.h"
#include "persist/file_lock.h"
#include "state/store.h"

struct sqlite3;

namespace persist {

// PRAGMA user_version of the files this exporter writes. A file of version 1 or 2 is brought up
// to date in place; a file with another version is moved aside (a newer exporter's file is never
// overwritten in place).
inline constexpr int kSchemaVersion = 4;

struct OpenResult {
  // The state to hand to Store::Restore, after a good restore only.
  std::optional<state::RestoredState> restored;
  // When a file was moved aside: why, and where it went.
  std::string moved_aside;
  std::string moved_to;
  // When the file cannot be used for now (writes will retry): why.
  std::string unavailable;
};

class StateFile : public Backend {
 public:
  // Takes the lock <path>.lock, restores the file at `path` or moves it aside, and creates a
  // fresh one when needed (watching since `now`). Returns nullptr only when another exporter holds
  // the lock, with *fatal_error naming the path. `now` is Unix seconds (also names a moved file).
  static std::unique_ptr<StateFile> Open(const std::string& path, double now, OpenResult* result,
                                         std::string* fatal_error);
  ~StateFile() override;
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  bool Write(const state::Changes& changes, const state::Snapshot& snapshot,
             std::string* error) override;

  const std::string& path() const { return path_; }
  // Whether the file is open now (restored or made at Open): others may then use it too.
  bool is_open() const { return db_ != nullptr; }
  // Rows inserted, replaced or deleted by the last successful Write (tests: only changed rows).
  int64_t last_write_rows() const { return last_write_rows_; }

 private:
  struct Row;
  using Rows = std::map<std::array<std::string, 3>, Row>;

  explicit StateFile(std::string path);
  void Load(double now, OpenResult* result);
  bool EnsureOpen(double watching_since, std::string* error);
  bool CreateFresh(double watching_since, std::string* error);
  // Brings an open file of an older schema version up to date; true when it is.
  bool Migrate(std::string* error);
  bool MoveAside(const std::string& reason, double now, OpenResult* result);
  void Close();

  std::string path_;
  FileLock lock_;
  sqlite3* db_ = nullptr;
  // The schema version of the open file.
  int64_t version_ = kSchemaVersion;
  // Why the file found at start was not restored (empty when it was, or there was none).
  std::string not_restored_;
  // The counters and histograms as last committed, so that a write touches only changed ones.
  std::unique_ptr<Rows> written_;
  int64_t last_write_rows_ = 0;
};

}  // namespace persist

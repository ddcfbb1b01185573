#include "persist/forward_queue.h"

#include <sqlite3.h>

#include <mutex>

namespace persist {
namespace {

// IF NOT EXISTS: the table joins a state file made by an exporter that did not know it, without
// a new schema version (the state file's reader reads only the tables it knows).
constexpr const char* kTable = R"sql(
CREATE TABLE IF NOT EXISTS forward_calls (
  seq INTEGER PRIMARY KEY,
  shard INTEGER NOT NULL,
  kind TEXT NOT NULL,
  body BLOB NOT NULL,
  received_at REAL NOT NULL
);
)sql";

// How long a statement waits for the state file's writer (a poll cycle's write) before it fails.
constexpr int kBusyTimeoutMs = 5000;

class SqliteForwardQueue : public ForwardQueue {
 public:
  explicit SqliteForwardQueue(sqlite3* db) : db_(db) {}
  ~SqliteForwardQueue() override { sqlite3_close_v2(db_); }
  SqliteForwardQueue(const SqliteForwardQueue&) = delete;
  SqliteForwardQueue& operator=(const SqliteForwardQueue&) = delete;

  bool Add(QueuedCall* call, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_stmt* stmt = Prepare(
        "INSERT INTO forward_calls (shard, kind, body, received_at) VALUES (?, ?, ?, ?)", error);
    if (stmt == nullptr) return false;
    sqlite3_bind_int64(stmt, 1, call->shard);
    sqlite3_bind_text(stmt, 2, call->kind.data(), static_cast<int>(call->kind.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 3, call->body.data(), static_cast<int>(call->body.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_double(stmt, 4, call->received_at);
    if (!Finish(stmt, "cannot store a webhook call to forward", error)) return false;
    call->seq = sqlite3_last_insert_rowid(db_);
    return true;
  }

  bool Remove(int64_t seq, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_stmt* stmt = Prepare("DELETE FROM forward_calls WHERE seq = ?", error);
    if (stmt == nullptr) return false;
    sqlite3_bind_int64(stmt, 1, seq);
    return Finish(stmt, "cannot delete a forwarded webhook call", error);
  }

  bool Load(std::vector<QueuedCall>* calls, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_stmt* stmt = Prepare(
        "SELECT seq, shard, kind, body, received_at FROM forward_calls ORDER BY seq", error);
    if (stmt == nullptr) return false;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      QueuedCall call;
      call.seq = sqlite3_column_int64(stmt, 0);
      call.shard = sqlite3_column_int(stmt, 1);
      const auto* kind = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2));
      call.kind.assign(kind ? kind : "", static_cast<size_t>(sqlite3_column_bytes(stmt, 2)));
      const auto* body = static_cast<const char*>(sqlite3_column_blob(stmt, 3));
      call.body.assign(body ? body : "", static_cast<size_t>(sqlite3_column_bytes(stmt, 3)));
      call.received_at = sqlite3_column_double(stmt, 4);
      calls->push_back(std::move(call));
    }
    return Finish(stmt, "cannot read the webhook calls to forward", error, rc);
  }

 private:
  sqlite3_stmt* Prepare(const char* sql, std::string* error) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      *error = std::string("cannot prepare a statement on the state file: ") + sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      return nullptr;
    }
    return stmt;
  }

  // Runs `stmt` to its end (unless `rc`, the last step's result, is given) and finalizes it.
  bool Finish(sqlite3_stmt* stmt, const char* what, std::string* error, int rc = SQLITE_OK) {
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    const bool ok = rc == SQLITE_DONE;
    if (!ok) *error = std::string(what) + ": " + sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return ok;
  }

  std::mutex mutex_;
  sqlite3* const db_;  // used under mutex_
};

}  // namespace

std::unique_ptr<ForwardQueue> OpenForwardQueue(const std::string& path, std::string* error) {
  sqlite3* db = nullptr;
  // No SQLITE_OPEN_CREATE: a file that is not there was not opened by StateFile, and a call
  // stored elsewhere would never be found again.
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    // WAL as the state file is (a no-op on it); FULL: a call answered 202 is on disk.
    rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", nullptr, nullptr,
                      nullptr);
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, kTable, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    *error = "cannot keep webhook calls to forward in " + path + ": " +
             (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return nullptr;
  }
  return std::make_unique<SqliteForwardQueue>(db);
}

}  // namespace persist

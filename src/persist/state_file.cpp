#include "persist/state_file.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "state/series.h"

namespace persist {

using creatify::Status;

namespace {

// Counters and histograms are rows (name, label1, label2): label1 is the kind (the endpoint for
// the API families), label2 the status, field, reason or response code.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE jobs (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  status TEXT NOT NULL,
  api_status TEXT,
  progress REAL,
  video_duration_seconds REAL,
  credits_used REAL,
  created_at REAL,
  updated_at REAL,
  info TEXT NOT NULL,
  finished_at REAL NOT NULL,
  counted INTEGER NOT NULL,
  unread INTEGER NOT NULL DEFAULT 0,
  seen_queued INTEGER NOT NULL DEFAULT 0,
  running_seen_at REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE remembered (
  kind TEXT NOT NULL,
  id_hash INTEGER NOT NULL,
  forget_at REAL NOT NULL,
  PRIMARY KEY (kind, id_hash)
) WITHOUT ROWID;
CREATE TABLE counters (
  name TEXT NOT NULL,
  label1 TEXT NOT NULL,
  label2 TEXT NOT NULL,
  value REAL NOT NULL,
  created REAL,
  PRIMARY KEY (name, label1, label2)
) WITHOUT ROWID;
CREATE TABLE histograms (
  name TEXT NOT NULL,
  label1 TEXT NOT NULL,
  label2 TEXT NOT NULL,
  upper_bounds TEXT NOT NULL,
  bucket_counts TEXT NOT NULL,
  sum REAL NOT NULL,
  count INTEGER NOT NULL,
  created REAL,
  PRIMARY KEY (name, label1, label2)
) WITHOUT ROWID;
)sql";

// Made by a fresh file and by the migration from version 1 alike.
constexpr const char* kRefusedTable = R"sql(
CREATE TABLE refused (
  kind TEXT NOT NULL,
  id_hash INTEGER NOT NULL,
  forget_at REAL NOT NULL,
  PRIMARY KEY (kind, id_hash)
) WITHOUT ROWID;
)sql";

// From schema version 1 (which guessed "unread" from empty columns and did not keep the jobs
// refused for the cap) to 2, in place: nothing is lost.
constexpr const char* kMigrateFrom1 = R"sql(
ALTER TABLE jobs ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET unread = 1
  WHERE status = 'unknown' AND api_status IS NULL AND progress IS NULL
    AND video_duration_seconds IS NULL AND credits_used IS NULL AND created_at IS NULL
    AND updated_at IS NULL AND info = '[]';
)sql";

// From schema version 2 (which did not keep when a job was seen queued and running) to 3, in
// place: the jobs restored from it are not observed in the stage histogram.
constexpr const char* kMigrateFrom2 = R"sql(
ALTER TABLE jobs ADD COLUMN seen_queued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN running_seen_at REAL NOT NULL DEFAULT 0;
)sql";

// From schema version 3 (which did not keep when each series started counting) to 4, in place:
// the series restored from it started counting at the file's watching_since.
constexpr const char* kMigrateFrom3 = R"sql(
ALTER TABLE counters ADD COLUMN created REAL;
ALTER TABLE histograms ADD COLUMN created REAL;
)sql";

// Any failure while reading or writing: caught at the edge of each public call.
struct SqlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void Check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw SqlError(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

void Exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw SqlError(text);
  }
}

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    Check(db, sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr), sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, const std::string& text) {
    Check(db_,
          sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
          "bind");
    return *this;
  }
  Statement& Bind(int i, double value) {
    Check(db_, sqlite3_bind_double(stmt_, i, value), "bind");
    return *this;
  }
  Statement& Bind(int i, int64_t value) {
    Check(db_, sqlite3_bind_int64(stmt_, i, value), "bind");
    return *this;
  }
  Statement& Bind(int i, creatify::OptionalNumber value) {
    Check(db_, value ? sqlite3_bind_double(stmt_, i, *value) : sqlite3_bind_null(stmt_, i), "bind");
    return *this;
  }
  // Runs a statement that returns no rows, then makes it ready to run again.
  void Run() {
    const int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    if (rc != SQLITE_DONE) Check(db_, rc == SQLITE_ROW ? SQLITE_ERROR : rc, "write");
    sqlite3_clear_bindings(stmt_);
  }
  // Steps through a query: true while there is a row.
  bool Next() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    Check(db_, rc, "read");
    return false;
  }
  bool IsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::string Text(int i) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    if (text == nullptr) throw SqlError("unexpected NULL text");
    return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  double Real(int i) const {
    if (IsNull(i)) throw SqlError("unexpected NULL number");
    return sqlite3_column_double(stmt_, i);
  }
  std::optional<double> OptionalReal(int i) const {
    if (IsNull(i)) return std::nullopt;
    return sqlite3_column_double(stmt_, i);
  }
  int64_t Integer(int i) const {
    if (IsNull(i)) throw SqlError("unexpected NULL integer");
    return sqlite3_column_int64(stmt_, i);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// The status a row names; anything but a status word is corruption.
Status StatusFromText(const std::string& text) {
  const Status status = creatify::ParseStatus(text);
  if (creatify::StatusName(status) != text) throw SqlError("unknown status \"" + text + "\"");
  return status;
}

Status TerminalStatusFromText(const std::string& text) {
  const Status status = StatusFromText(text);
  if (!creatify::IsTerminal(status)) throw SqlError("\"" + text + "\" is not a terminal status");
  return status;
}

std::string InfoToJson(const creatify::InfoFields& info) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& [name, value] : info) array.push_back({name, value});
  return array.dump();
}

creatify::InfoFields InfoFromJson(const std::string& text) {
  creatify::InfoFields info;
  for (const auto& pair : nlohmann::json::parse(text)) {
    info.emplace_back(pair.at(0).get_ref<const std::string&>(),
                      pair.at(1).get_ref<const std::string&>());
  }
  return info;
}

state::Histogram HistogramFromRow(const Statement& row) {
  auto histogram =
      state::Histogram::FromBuckets(nlohmann::json::parse(row.Text(3)).get<std::vector<double>>(),
                                    nlohmann::json::parse(row.Text(4)).get<std::vector<uint64_t>>(),
                                    row.Real(5), static_cast<uint64_t>(row.Integer(6)));
  if (!histogram) throw SqlError("histogram " + row.Text(0) + " does not add up");
  return std::move(*histogram);
}

state::KindSnapshot& KindOf(state::Snapshot& counters, const std::string& name) {
  for (auto& kind : counters.kinds) {
    if (kind.name == name) return kind;
  }
  counters.kinds.emplace_back().name = name;
  return counters.kinds.back();
}

// Reads every table of a file of schema `version`; throws on anything unexpected.
state::RestoredState ReadState(sqlite3* db, int64_t version) {
  state::RestoredState restored;
  {
    Statement meta(db, "SELECT value FROM meta WHERE key = 'watching_since'");
    if (!meta.Next()) throw SqlError("no watching_since");
    restored.watching_since = meta.Real(0);
  }
  auto created = std::make_shared<std::map<state::SeriesKey, double>>();
  const std::string created_column = version >= 4 ? "created" : "NULL";
  Statement counters(
      db, ("SELECT name, label1, label2, value, " + created_column + " FROM counters").c_str());
  while (counters.Next()) {
    const std::string name = counters.Text(0);
    const std::string label1 = counters.Text(1);
    const std::string label2 = counters.Text(2);
    const double value = counters.Real(3);
    if (!counters.IsNull(4)) created->insert_or_assign({name, label1, label2}, counters.Real(4));
    if (name == "webhook_requests") {
      restored.counters.webhook_requests[{label1, label2}] = value;
      continue;
    }
    if (name == "api_requests") {
      restored.counters.api_requests[{label1, label2}] = value;
      continue;
    }
    if (name == "webhook_forwards") {
      restored.counters.webhook_forwards[{label1, label2}] = value;
      continue;
    }
    if (name == "breakdown_value") {
      // label1 the field, label2 the value, value its place in the order first seen.
      auto& values = restored.counters.breakdown_values[label1];
      const auto place = static_cast<size_t>(value);
      if (value < 0 || static_cast<double>(place) != value) {
        throw SqlError("bad place of a breakdown value");
      }
      if (values.size() <= place) values.resize(place + 1);
      values[place] = label2;
      continue;
    }
    state::KindSnapshot& kind = KindOf(restored.counters, label1);
    if (name == "breakdown_completed" || name == "breakdown_credits") {
      // label2: a JSON array, [status,] field, value, field, value...
      const auto words = nlohmann::json::parse(label2).get<std::vector<std::string>>();
      const bool completed = name == "breakdown_completed";
      const size_t first = completed ? 1 : 0;
      if (words.size() < first || (words.size() - first) % 2 != 0) {
        throw SqlError("bad breakdown key " + label2);
      }
      state::BreakdownKey key;
      for (size_t i = first; i < words.size(); i += 2) key.emplace_back(words[i], words[i + 1]);
      state::BreakdownCount& count = kind.breakdown[std::move(key)];
      if (completed) {
        count.completed[TerminalStatusFromText(words.at(0))] = value;
      } else {
        count.credits_used = value;
      }
    } else if (name == "completed") {
      kind.completed[TerminalStatusFromText(label2)] = value;
    } else if (name == "credits_used") {
      kind.credits_used = value;
    } else if (name == "invalid_items") {
      kind.invalid_items = value;
    } else if (name == "invalid_fields") {
      kind.invalid_fields[label2] = value;
    } else if (name == "dropped") {
      kind.dropped[label2] = value;
    } else if (name == "last_success") {
      kind.last_success = value;
    } else {
      throw SqlError("unknown counter \"" + name + "\"");
    }
  }
  Statement histograms(db,
                       ("SELECT name, label1, label2, upper_bounds, bucket_counts, sum, count, " +
                        created_column + " FROM histograms")
                           .c_str());
  while (histograms.Next()) {
    const std::string name = histograms.Text(0);
    if (!histograms.IsNull(7)) {
      created->insert_or_assign({name, histograms.Text(1), histograms.Text(2)}, histograms.Real(7));
    }
    if (name == "processing") {
      KindOf(restored.counters, histograms.Text(1))
          .processing.insert_or_assign(TerminalStatusFromText(histograms.Text(2)),
                                       HistogramFromRow(histograms));
    } else if (name == "stage") {
      KindOf(restored.counters, histograms.Text(1))
          .stage.insert_or_assign(histograms.Text(2), HistogramFromRow(histograms));
    } else if (name == "api_request_duration") {
      restored.counters.api_request_duration.insert_or_assign(histograms.Text(1),
                                                              HistogramFromRow(histograms));
    } else if (name == "poll_duration") {
      // label1: the workspace ("" without workspaces).
      const std::string workspace = histograms.Text(1);
      if (workspace.empty()) {
        restored.counters.poll_duration = HistogramFromRow(histograms);
      } else {
        restored.counters.workspaces[workspace].poll_duration = HistogramFromRow(histograms);
      }
    } else {
      throw SqlError("unknown histogram \"" + name + "\"");
    }
  }
  // The columns a version lacks are read as NULL.
  const std::string columns = std::string(version >= 2 ? "unread" : "NULL") +
                              (version >= 3 ? ", seen_queued, running_seen_at" : ", NULL, NULL");
  Statement jobs(db, ("SELECT kind, id, status, api_status, progress, video_duration_seconds, "
                      "credits_used, created_at, updated_at, info, finished_at, counted, " +
                      columns + " FROM jobs")
                         .c_str());
  while (jobs.Next()) {
    state::JobRecord record;
    record.job.id = jobs.Text(1);
    record.status = StatusFromText(jobs.Text(2));
    if (!jobs.IsNull(3)) record.job.status = StatusFromText(jobs.Text(3));
    record.job.progress = jobs.OptionalReal(4);
    record.job.video_duration_seconds = jobs.OptionalReal(5);
    record.job.credits_used = jobs.OptionalReal(6);
    record.job.created_at = jobs.OptionalReal(7);
    record.job.updated_at = jobs.OptionalReal(8);
    record.job.info = InfoFromJson(jobs.Text(9));
    record.finished_at = jobs.Real(10);
    record.counted = jobs.Integer(11) != 0;
    if (version >= 2) {
      record.unread = jobs.Integer(12) != 0;
    } else {
      // Version 1 wrote a job a webhook announced, not read yet, with nothing but its id.
      record.unread = record.status == creatify::Status::kUnknown && !record.job.status &&
                      !record.job.progress && !record.job.video_duration_seconds &&
                      !record.job.credits_used && !record.job.created_at &&
                      !record.job.updated_at && record.job.info.empty();
    }
    if (version >= 3) {
      record.seen_queued = jobs.Integer(13) != 0;
      record.running_seen_at = jobs.Real(14);
    }
    restored.jobs.emplace_back(jobs.Text(0), std::move(record));
  }
  auto read_ids = [db](const char* sql, std::vector<state::RestoredState::Remembered>* out) {
    Statement ids(db, sql);
    while (ids.Next()) {
      out->push_back({.kind = ids.Text(0),
                      .id_hash = static_cast<uint64_t>(ids.Integer(1)),
                      .forget_at = ids.Real(2)});
    }
  };
  read_ids("SELECT kind, id_hash, forget_at FROM remembered", &restored.remembered);
  if (version >= 2) read_ids("SELECT kind, id_hash, forget_at FROM refused", &restored.refused);
  if (!created->empty()) restored.counters.created = std::move(created);
  return restored;
}

// Checks the file and reads it; throws with the reason it cannot be restored. *schema_version is
// its schema version.
state::RestoredState Validate(sqlite3* db, int64_t* schema_version) {
  {
    Statement check(db, "PRAGMA quick_check");
    if (!check.Next()) throw SqlError("the integrity check returned nothing");
    if (const std::string verdict = check.Text(0); verdict != "ok") {
      throw SqlError("the integrity check failed: " + verdict);
    }
  }
  Statement version(db, "PRAGMA user_version");
  if (!version.Next()) throw SqlError("no schema version");
  const int64_t found = version.Integer(0);
  if (found == 0) throw SqlError("the database is empty (no schema version)");
  if (found > kSchemaVersion) {
    throw SqlError("its schema version " + std::to_string(found) +
                   " is newer than this exporter's (" + std::to_string(kSchemaVersion) + ")");
  }
  if (found < 1) {
    throw SqlError("unknown schema version " + std::to_string(found));
  }
  *schema_version = found;
  return ReadState(db, found);
}

// WAL: a reader never waits for the writer and a crash leaves the last commit whole. FULL: a
// commit is on disk before Write returns (one fsync per poll cycle, off the poller's thread).
void ConfigureConnection(sqlite3* db) {
  Statement wal(db, "PRAGMA journal_mode = WAL");
  if (!wal.Next() || wal.Text(0) != "wal") throw SqlError("cannot switch to WAL mode");
  // The webhook forwarder writes its calls to the same file on a connection of its own.
  sqlite3_busy_timeout(db, 5000);
  Exec(db, "PRAGMA synchronous = FULL");
}

sqlite3* OpenConnection(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw SqlError(message);
  }
  sqlite3_extended_result_codes(db, 1);
  return db;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

std::string UtcStamp(double now) {
  const auto seconds = static_cast<time_t>(std::floor(now));
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

}  // namespace

// A counter's value, or a histogram's stored columns.
struct StateFile::Row {
  bool histogram = false;
  double value = 0;
  std::string upper_bounds;
  std::string bucket_counts;
  uint64_t count = 0;
  // When the series started counting (0 for the rows that are not a series).
  double created = 0;

  friend bool operator==(const Row&, const Row&) = default;
};

namespace {

using Key = std::array<std::string, 3>;

template <typename Rows>
void AddHistogram(Rows& rows, Key key, const state::Histogram& histogram, double created) {
  auto& row = rows[std::move(key)];
  row.histogram = true;
  row.created = created;
  row.value = histogram.sum();
  row.upper_bounds = nlohmann::json(histogram.upper_bounds()).dump();
  row.bucket_counts = nlohmann::json(histogram.bucket_counts()).dump();
  row.count = histogram.count();
}

// Every counter and histogram of the snapshot, as the rows they are stored in, each with the time
// its series started counting; and the rows that are not series (the breakdown's named values,
// the kinds' last successful poll).
template <typename Rows>
Rows CounterRows(const state::Snapshot& snapshot) {
  Rows rows;
  state::ForEachCountedSeries(
      snapshot,
      [&](Key key, double value) {
        auto& row = rows[key];
        row.value = value;
        row.created = state::CreatedAt(snapshot, key, snapshot.watching_since);
      },
      [&](Key key, const state::Histogram& histogram) {
        const double created = state::CreatedAt(snapshot, key, snapshot.watching_since);
        AddHistogram(rows, std::move(key), histogram, created);
      });
  for (const auto& kind : snapshot.kinds) {
    if (kind.last_success) rows[{"last_success", kind.name, ""}].value = *kind.last_success;
  }
  for (const auto& [field, values] : snapshot.breakdown_values) {
    for (size_t i = 0; i < values.size(); ++i) {
      rows[{"breakdown_value", field, values[i]}].value = static_cast<double>(i);
    }
  }
  return rows;
}

}  // namespace

StateFile::StateFile(std::string path) : path_(std::move(path)), written_(new Rows) {}

StateFile::~StateFile() { Close(); }

void StateFile::Close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

std::unique_ptr<StateFile> StateFile::Open(const std::string& path, double now, OpenResult* result,
                                           std::string* fatal_error) {
  *result = OpenResult{};
  std::unique_ptr<StateFile> file(new StateFile(path));
  std::string lock_error;
  switch (file->lock_.Acquire(path + ".lock", &lock_error)) {
    case FileLock::Result::kHeld:
      *fatal_error = "the state file " + path +
                     " is in use: another creatify-exporter holds its lock " + path + ".lock";
      return nullptr;
    case FileLock::Result::kUnavailable:
      result->unavailable = lock_error;
      return file;
    case FileLock::Result::kAcquired:
      break;
  }
  file->Load(now, result);
  return file;
}

void StateFile::Load(double now, OpenResult* result) {
  if (Exists(path_)) {
    sqlite3* db = nullptr;
    try {
      // Read-only first: a read-write connection to a file that is not a database deletes its
      // -wal on close, and the -wal is part of what is moved aside.
      db = OpenConnection(path_, SQLITE_OPEN_READONLY);
      state::RestoredState restored = Validate(db, &version_);
      sqlite3_close_v2(db);
      db = OpenConnection(path_, SQLITE_OPEN_READWRITE);
      ConfigureConnection(db);
      db_ = db;
      result->restored = std::move(restored);
      // A file of an older version is brought up to date now, or before the first write if the
      // disk does not allow it yet: what it holds was read either way.
      std::string error;
      Migrate(&error);
      return;
    } catch (const std::exception& e) {
      if (db != nullptr) sqlite3_close_v2(db);
      not_restored_ = e.what();
    }
    if (!MoveAside(not_restored_, now, result)) return;
  }
  std::string error;
  if (!CreateFresh(now, &error)) result->unavailable = error;
}

bool StateFile::MoveAside(const std::string& reason, double now, OpenResult* result) {
  std::string target = path_ + ".corrupt-" + UtcStamp(now);
  for (int i = 1; Exists(target); ++i) {
    target = path_ + ".corrupt-" + UtcStamp(now) + "-" + std::to_string(i);
  }
  if (std::rename(path_.c_str(), target.c_str()) != 0) {
    if (result != nullptr) {
      result->unavailable =
          "cannot move aside " + path_ + " (" + reason + "): " + std::strerror(errno);
    }
    return false;
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    if (Exists(path_ + suffix)) std::rename((path_ + suffix).c_str(), (target + suffix).c_str());
  }
  if (result != nullptr) {
    result->moved_aside = reason;
    result->moved_to = target;
  }
  return true;
}

bool StateFile::Migrate(std::string* error) {
  if (version_ == kSchemaVersion) return true;
  try {
    Exec(db_, "BEGIN IMMEDIATE");
    if (version_ < 2) {
      Exec(db_, kMigrateFrom1);
      Exec(db_, kRefusedTable);
    }
    if (version_ < 3) Exec(db_, kMigrateFrom2);
    Exec(db_, kMigrateFrom3);
    Exec(db_, ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    Exec(db_, "COMMIT");
  } catch (const std::exception& e) {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    *error = "cannot bring the state file " + path_ + " from schema version " +
             std::to_string(version_) + " to " + std::to_string(kSchemaVersion) + ": " + e.what();
    return false;
  }
  version_ = kSchemaVersion;
  return true;
}

bool StateFile::CreateFresh(double watching_since, std::string* error) {
  sqlite3* db = nullptr;
  try {
    db = OpenConnection(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ConfigureConnection(db);
    // Schema, version and start time in one transaction: a file is never half made.
    Exec(db, "BEGIN IMMEDIATE");
    Exec(db, kSchema);
    Exec(db, kRefusedTable);
    Exec(db, ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    Statement meta(db, "INSERT INTO meta (key, value) VALUES ('watching_since', ?)");
    meta.Bind(1, watching_since).Run();
    Exec(db, "COMMIT");
  } catch (const std::exception& e) {
    if (db != nullptr) sqlite3_close_v2(db);
    *error = "cannot create the state file " + path_ + ": " + e.what();
    return false;
  }
  db_ = db;
  version_ = kSchemaVersion;
  written_->clear();
  return true;
}

bool StateFile::EnsureOpen(double watching_since, std::string* error) {
  if (db_ != nullptr) return true;
  std::string lock_error;
  switch (lock_.Acquire(path_ + ".lock", &lock_error)) {
    case FileLock::Result::kHeld:
      *error = "another creatify-exporter holds the lock " + path_ + ".lock";
      return false;
    case FileLock::Result::kUnavailable:
      *error = lock_error;
      return false;
    case FileLock::Result::kAcquired:
      break;
  }
  // Whatever is at the path now was not restored at start: the pending changes start from
  // nothing, so they go into a fresh file.
  if (Exists(path_)) {
    OpenResult moved;
    const std::string reason = not_restored_.empty()
                                   ? "it could not be read when the exporter started"
                                   : "it was not restored at start: " + not_restored_;
    if (!MoveAside(reason, watching_since, &moved)) {
      *error = moved.unavailable;
      return false;
    }
  }
  return CreateFresh(watching_since, error);
}

bool StateFile::Write(const state::Changes& changes, const state::Snapshot& snapshot,
                      std::string* error) {
  if (!EnsureOpen(snapshot.watching_since, error) || !Migrate(error)) return false;
  Rows rows = CounterRows<Rows>(snapshot);
  try {
    Exec(db_, "BEGIN IMMEDIATE");
    const int64_t before = sqlite3_total_changes64(db_);
    Statement upsert(db_,
                     "INSERT OR REPLACE INTO jobs (kind, id, status, api_status, progress, "
                     "video_duration_seconds, credits_used, created_at, updated_at, info, "
                     "finished_at, counted, unread, seen_queued, running_seen_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Statement remove(db_, "DELETE FROM jobs WHERE kind = ? AND id = ?");
    Statement remember(
        db_, "INSERT OR REPLACE INTO remembered (kind, id_hash, forget_at) VALUES (?, ?, ?)");
    Statement forget(db_, "DELETE FROM remembered WHERE kind = ? AND id_hash = ?");
    Statement refuse(db_,
                     "INSERT OR REPLACE INTO refused (kind, id_hash, forget_at) VALUES (?, ?, ?)");
    Statement unrefuse(db_, "DELETE FROM refused WHERE kind = ? AND id_hash = ?");
    for (const auto& op : changes.ops) {
      switch (op.type) {
        case state::Change::Type::kUpsert: {
          const state::JobRecord& record = *op.record;
          const creatify::JobFields& job = record.job;
          upsert.Bind(1, op.kind).Bind(2, op.id).Bind(3, std::string(StatusName(record.status)));
          if (job.status) upsert.Bind(4, std::string(StatusName(*job.status)));
          upsert.Bind(5, job.progress)
              .Bind(6, job.video_duration_seconds)
              .Bind(7, job.credits_used)
              .Bind(8, job.created_at)
              .Bind(9, job.updated_at)
              .Bind(10, InfoToJson(job.info))
              .Bind(11, record.finished_at)
              .Bind(12, int64_t{record.counted ? 1 : 0})
              .Bind(13, int64_t{record.unread ? 1 : 0})
              .Bind(14, int64_t{record.seen_queued ? 1 : 0})
              .Bind(15, record.running_seen_at)
              .Run();
          break;
        }
        case state::Change::Type::kRemove:
          remove.Bind(1, op.kind).Bind(2, op.id).Run();
          break;
        case state::Change::Type::kRemember:
        case state::Change::Type::kRefuse: {
          // The remembered and refused ids are rows of the same shape in two tables.
          Statement& add = op.type == state::Change::Type::kRemember ? remember : refuse;
          add.Bind(1, op.kind)
              .Bind(2, static_cast<int64_t>(op.id_hash))
              .Bind(3, op.forget_at)
              .Run();
          break;
        }
        case state::Change::Type::kForget:
        case state::Change::Type::kUnrefuse: {
          Statement& drop = op.type == state::Change::Type::kForget ? forget : unrefuse;
          drop.Bind(1, op.kind).Bind(2, static_cast<int64_t>(op.id_hash)).Run();
          break;
        }
      }
    }
    Statement counter(db_,
                      "INSERT OR REPLACE INTO counters (name, label1, label2, value, created) "
                      "VALUES (?, ?, ?, ?, ?)");
    Statement histogram(db_,
                        "INSERT OR REPLACE INTO histograms (name, label1, label2, upper_bounds, "
                        "bucket_counts, sum, count, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    // The created column: NULL for a row that is not a series.
    auto created = [](const Row& row) {
      return row.created > 0 ? std::optional<double>(row.created) : std::nullopt;
    };
    for (const auto& [key, row] : rows) {
      auto old = written_->find(key);
      if (old != written_->end() && old->second == row) continue;
      Statement& statement = row.histogram ? histogram : counter;
      statement.Bind(1, key[0]).Bind(2, key[1]).Bind(3, key[2]);
      if (row.histogram) {
        histogram.Bind(4, row.upper_bounds)
            .Bind(5, row.bucket_counts)
            .Bind(6, row.value)
            .Bind(7, static_cast<int64_t>(row.count));
        histogram.Bind(8, created(row));
      } else {
        counter.Bind(4, row.value);
        counter.Bind(5, created(row));
      }
      statement.Run();
    }
    Exec(db_, "COMMIT");
    last_write_rows_ = sqlite3_total_changes64(db_) - before;
  } catch (const std::exception& e) {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    *error = "cannot write the state file " + path_ + ": " + e.what();
    return false;
  }
  *written_ = std::move(rows);
  return true;
}

}  // namespace persist

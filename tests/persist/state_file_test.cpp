#include "persist/state_file.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include "persist/fixture.h"
#include "state/series.h"
#include "support/process.h"

using creatify::Status;
using persist::OpenResult;
using persist::StateFile;
using persist_test::kStart;
using state::Store;

namespace {

std::unique_ptr<StateFile> MustOpen(const std::string& path, double now, OpenResult* result) {
  std::string error;
  auto file = StateFile::Open(path, now, result, &error);
  REQUIRE_MESSAGE(file != nullptr, error);
  return file;
}

// A store that went through the busy cycles, each written to `path`.
std::unique_ptr<Store> WriteBusyState(const std::string& path) {
  OpenResult result;
  auto file = MustOpen(path, kStart, &result);
  auto store = std::make_unique<Store>(persist_test::Options());
  for (const auto& cycle : persist_test::BusyCycles()) {
    store->Apply(cycle);
    persist_test::WriteChanges(*store, *file);
  }
  return store;
}

// Runs one statement against the file with a connection of the test's own.
void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, text);
}

// The file at `path` was moved aside for a reason, and a fresh one stands in its place.
void CheckMovedAside(const std::string& path, const OpenResult& result) {
  CHECK_FALSE(result.restored);
  CHECK_FALSE(result.moved_aside.empty());
  CHECK(result.unavailable.empty());
  CHECK(result.moved_to.rfind(path + ".corrupt-", 0) == 0);
  CHECK(std::filesystem::exists(result.moved_to));
  CHECK(std::filesystem::is_regular_file(path));
}

}  // namespace

TEST_CASE("a missing file is a first start: a fresh file, nothing restored, nothing moved") {
  testsupport::TempDir dir;
  OpenResult result;
  auto file = MustOpen(dir.File("state.db"), kStart, &result);
  CHECK_FALSE(result.restored);
  CHECK(result.moved_aside.empty());
  CHECK(result.unavailable.empty());
  CHECK(std::filesystem::is_regular_file(dir.File("state.db")));
}

TEST_CASE("every counter, histogram, job and remembered id survives a reopen") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto before = WriteBusyState(path);
  auto snapshot = before->Current();
  // The cycles exercised what they should.
  const auto* aurora = snapshot->FindKind("aurora");
  REQUIRE(aurora->completed.at(Status::kDone) == 1);
  REQUIRE(aurora->completed.at(Status::kFailed) == 1);
  REQUIRE(aurora->completed.at(Status::kRejected) == 1);
  REQUIRE(aurora->remembered == 3);
  REQUIRE(snapshot->FindKind("ads_clone")->dropped.at("not_found") == 1);
  REQUIRE(snapshot->FindKind("ads_clone")->remembered == 1);  // c1; "gone" was forgotten
  REQUIRE(aurora->invalid_fields.at("progress") == 2);
  // a1 was read pending, c1 in_queue: both are in the stage histograms.
  REQUIRE(aurora->stage.at("queued").count() == 1);
  REQUIRE(snapshot->FindKind("ads_clone")->stage.at("running").count() == 1);
  // The breakdown named two names and counted the third job's as "other".
  REQUIRE(snapshot->breakdown_values.at("name") ==
          std::vector<std::string>{"video a1", "video a3"});
  REQUIRE(aurora->breakdown.at({{"aspect_ratio", "9:16"}, {"name", "other"}})
              .completed.at(Status::kRejected) == 1);

  OpenResult result;
  auto file = MustOpen(path, kStart + 5000, &result);
  REQUIRE(result.restored);
  CHECK(result.moved_aside.empty());
  CHECK(result.restored->watching_since == kStart);
  CHECK(result.restored->remembered.size() == 4);
  Store after(persist_test::Options(kStart + 5000));
  after.Restore(std::move(*result.restored));
  persist_test::CheckSameState(*snapshot, *after.Current());
  // The remembered ids are known finished, and the forgotten one is not.
  for (const char* id : {"a1", "a2", "a3"}) CHECK(after.IsFinished("aurora", id));
  CHECK(after.IsFinished("ads_clone", "c1"));
  CHECK_FALSE(after.IsFinished("ads_clone", "gone"));
  CHECK_FALSE(after.IsFinished("aurora", "a4"));
}

TEST_CASE("after a restore, jobs that finished while the exporter was down are counted once") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto before = WriteBusyState(path);
  const double done_before = before->Current()->FindKind("aurora")->completed.at(Status::kDone);
  before.reset();

  OpenResult result;
  const double restart = kStart + 800;
  auto file = MustOpen(path, restart, &result);
  REQUIRE(result.restored);
  Store store(persist_test::Options(restart));
  store.Restore(std::move(*result.restored));
  // a4 was running and finished while down; a6 was created and finished while down (after the
  // first start, before this one); a1 is remembered and listed again.
  auto cycle =
      persist_test::Cycle(restart + 5, {persist_test::Job("a4", Status::kDone, kStart + 90, 3),
                                        persist_test::Job("a6", Status::kDone, kStart + 750, 2),
                                        persist_test::Job("a1", Status::kDone, kStart - 50, 4.5)});
  store.Apply(cycle);
  store.Apply(cycle);
  const auto* aurora = store.Current()->FindKind("aurora");
  CHECK(aurora->completed.at(Status::kDone) == done_before + 2);
  CHECK(aurora->processing.at(Status::kDone).count() == done_before + 2);
  CHECK(aurora->credits_used == doctest::Approx(4.5 + 1.25 + 3 + 2));
}

TEST_CASE("a write touches only the rows that changed") {
  testsupport::TempDir dir;
  OpenResult result;
  auto file = MustOpen(dir.File("state.db"), kStart, &result);
  Store store(persist_test::Options());
  std::vector<creatify::Job> jobs;
  for (int i = 0; i < 40; ++i) {
    jobs.push_back(persist_test::Job("j" + std::to_string(i), Status::kRunning, kStart + 1));
  }
  auto first = persist_test::Cycle(kStart + 10, jobs);
  first.requests.clear();
  store.Apply(first);
  persist_test::WriteChanges(store, *file);
  CHECK(file->last_write_rows() > 40);

  // The same answers: only the poll duration histogram and the kinds' last success change.
  auto same = first;
  same.finished_at += 5;
  store.Apply(same);
  persist_test::WriteChanges(store, *file);
  CHECK(file->last_write_rows() == 3);

  // One job moves on, and one request is made: its counter and duration histogram change too.
  auto one = same;
  one.finished_at += 5;
  one.kinds[0].jobs[7].progress = 0.5;
  one.requests = {{"aurora", "200", 0.2}};
  store.Apply(one);
  persist_test::WriteChanges(store, *file);
  CHECK(file->last_write_rows() == 3 + 1 + 2);
}

TEST_CASE("an unusable file is moved aside with its reason, and the exporter starts afresh") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  const double now = kStart + 3600;
  OpenResult result;
  std::unique_ptr<StateFile> file;

  SUBCASE("corrupt") {
    testsupport::WriteFile(path, std::string(8192, 'x'));
    testsupport::WriteFile(path + "-wal", "not a wal");
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
    CHECK(std::filesystem::exists(result.moved_to + "-wal"));
  }
  SUBCASE("truncated") {
    WriteBusyState(path);
    Sql(path, "PRAGMA wal_checkpoint(TRUNCATE)");
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
  }
  SUBCASE("empty") {
    testsupport::WriteFile(path, "");
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
    CHECK(result.moved_aside.find("empty") != std::string::npos);
  }
  SUBCASE("written by a newer exporter") {
    WriteBusyState(path);
    Sql(path, "PRAGMA user_version = 99");
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
    CHECK(result.moved_aside.find("newer") != std::string::npos);
  }
  SUBCASE("a table missing") {
    WriteBusyState(path);
    Sql(path, "DROP TABLE remembered");
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
  }
  SUBCASE("a row that makes no sense") {
    WriteBusyState(path);
    Sql(path, "UPDATE jobs SET status = 'exploded' WHERE id = 'a4'");
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
    CHECK(result.moved_aside.find("exploded") != std::string::npos);
  }
  SUBCASE("unreadable: a directory at the path") {
    std::filesystem::create_directory(path);
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
    CHECK(std::filesystem::is_directory(result.moved_to));
  }
  SUBCASE("unreadable: no permission") {
    // Root reads any file whatever its mode, so the case cannot be made as root.
    if (geteuid() == 0) {
      MESSAGE("skipped as root: root reads a file of mode 000");
      return;
    }
    WriteBusyState(path);
    std::filesystem::permissions(path, std::filesystem::perms::none);
    file = MustOpen(path, now, &result);
    CheckMovedAside(path, result);
  }
  REQUIRE(file);
  CHECK(result.moved_to == path + ".corrupt-20270115T090000Z");
  // The fresh file works and watches from this start.
  Store store(persist_test::Options(now));
  store.Apply(persist_test::Cycle(now + 5, {persist_test::Job("n", Status::kRunning, now)}));
  persist_test::WriteChanges(store, *file);
  file.reset();
  auto reopened = MustOpen(path, now + 10, &result);
  REQUIRE(result.restored);
  CHECK(result.restored->watching_since == now);
  CHECK(result.restored->jobs.size() == 1);
}

TEST_CASE("two files moved aside in the same second keep both") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  OpenResult first, second;
  testsupport::WriteFile(path, "garbage one");
  MustOpen(path, kStart, &first);
  testsupport::WriteFile(path, "garbage two");
  MustOpen(path, kStart, &second);
  CHECK(first.moved_to != second.moved_to);
  CHECK(std::filesystem::exists(first.moved_to));
  CHECK(std::filesystem::exists(second.moved_to));
}

TEST_CASE("a second exporter on the same file is refused with one clear message") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  OpenResult result;
  auto first = MustOpen(path, kStart, &result);
  std::string error;
  CHECK(StateFile::Open(path, kStart, &result, &error) == nullptr);
  CHECK(error == "the state file " + path +
                     " is in use: another creatify-exporter holds its lock " + path + ".lock");
  first.reset();
  error.clear();
  CHECK(StateFile::Open(path, kStart, &result, &error) != nullptr);
  CHECK(error.empty());
}

TEST_CASE("a directory that is not there yet: writes fail, then write everything once it is") {
  testsupport::TempDir dir;
  const std::string path = dir.File("volume/state.db");
  OpenResult result;
  auto file = MustOpen(path, kStart, &result);
  CHECK_FALSE(result.restored);
  CHECK_FALSE(result.unavailable.empty());

  Store store(persist_test::Options());
  auto cycles = persist_test::BusyCycles();
  state::Changes pending;
  for (size_t i = 0; i < 3; ++i) {
    store.Apply(cycles[i]);
    std::shared_ptr<const state::Snapshot> snapshot;
    pending.Merge(store.TakeChanges(&snapshot));
    std::string error;
    CHECK_FALSE(file->Write(pending, *snapshot, &error));
    CHECK(error.find(dir.File("volume")) != std::string::npos);
  }
  std::filesystem::create_directory(dir.File("volume"));
  std::shared_ptr<const state::Snapshot> snapshot;
  pending.Merge(store.TakeChanges(&snapshot));
  std::string error;
  REQUIRE_MESSAGE(file->Write(pending, *snapshot, &error), error);
  file.reset();

  auto reopened = MustOpen(path, kStart + 100, &result);
  REQUIRE(result.restored);
  Store restored(persist_test::Options(kStart + 100));
  restored.Restore(std::move(*result.restored));
  persist_test::CheckSameState(*store.Current(), *restored.Current());
}

TEST_CASE("a full disk fails the write and rolls it back, and the next write carries it") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  OpenResult result;
  auto file = MustOpen(path, kStart, &result);
  Store store(persist_test::Options());
  auto cycles = persist_test::BusyCycles();
  store.Apply(cycles[0]);
  persist_test::WriteChanges(store, *file);

  // A file size limit is a full disk that even root cannot write past.
  std::vector<creatify::Job> big;
  for (int i = 0; i < 300; ++i) {
    auto job = persist_test::Job("big" + std::to_string(i), Status::kRunning, kStart + 1);
    job.info.push_back({"prompt", std::string(2000, 'p')});
    big.push_back(std::move(job));
  }
  store.Apply(persist_test::Cycle(kStart + 12, big));
  std::shared_ptr<const state::Snapshot> snapshot;
  state::Changes pending = store.TakeChanges(&snapshot);
  struct rlimit saved;
  getrlimit(RLIMIT_FSIZE, &saved);
  auto previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = saved;
  limit.rlim_cur = 64 * 1024;
  setrlimit(RLIMIT_FSIZE, &limit);
  std::string error;
  const bool written = file->Write(pending, *snapshot, &error);
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);
  CHECK_FALSE(written);
  CHECK_FALSE(error.empty());

  store.Apply(cycles[1]);
  pending.Merge(store.TakeChanges(&snapshot));
  REQUIRE_MESSAGE(file->Write(pending, *snapshot, &error), error);
  file.reset();
  auto reopened = MustOpen(path, kStart + 100, &result);
  REQUIRE(result.restored);
  Store restored(persist_test::Options(kStart + 100));
  restored.Restore(std::move(*result.restored));
  persist_test::CheckSameState(*store.Current(), *restored.Current());
}

TEST_CASE("a process killed after a write leaves that write restorable from the WAL") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Dies without closing anything, as under SIGKILL: the last writes are only in the -wal.
    OpenResult result;
    std::string error;
    auto file = StateFile::Open(path, kStart, &result, &error);
    Store store(persist_test::Options());
    for (const auto& cycle : persist_test::BusyCycles()) {
      store.Apply(cycle);
      std::shared_ptr<const state::Snapshot> snapshot;
      const state::Changes changes = store.TakeChanges(&snapshot);
      if (!file || !file->Write(changes, *snapshot, &error)) _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(std::filesystem::file_size(path + "-wal") > 0);

  Store expected(persist_test::Options());
  for (const auto& cycle : persist_test::BusyCycles()) expected.Apply(cycle);
  OpenResult result;
  auto file = MustOpen(path, kStart + 900, &result);
  REQUIRE(result.restored);
  Store restored(persist_test::Options(kStart + 900));
  restored.Restore(std::move(*result.restored));
  persist_test::CheckSameState(*expected.Current(), *restored.Current());
}

TEST_CASE("a job a webhook announced and no poll has read comes back unread, not shown") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  state::Store store(persist_test::Options());
  {
    persist::OpenResult result;
    std::string error;
    auto file = persist::StateFile::Open(path, persist_test::kStart, &result, &error);
    REQUIRE(file);
    REQUIRE(store.AddJob("ads_clone", "announced") == state::AddResult::kAdded);
    store.Apply(persist_test::Cycle(
        persist_test::kStart + 1,
        {persist_test::Job("read", creatify::Status::kRunning, persist_test::kStart - 5)}));
    persist_test::WriteChanges(store, *file);
  }
  persist::OpenResult result;
  std::string error;
  auto file = persist::StateFile::Open(path, persist_test::kStart + 60, &result, &error);
  REQUIRE(result.restored);
  state::Store restored(persist_test::Options(persist_test::kStart + 60));
  restored.Restore(std::move(*result.restored));
  auto snapshot = restored.Current();
  const auto* announced = snapshot->FindKind("ads_clone")->jobs.find("announced");
  REQUIRE(announced != nullptr);
  CHECK(announced->unread);
  CHECK_FALSE(snapshot->FindKind("aurora")->jobs.at("read").unread);
}

TEST_CASE("a job read with nothing but its id is not taken for an unread one") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  state::Store store(persist_test::Options());
  {
    OpenResult result;
    auto file = MustOpen(path, kStart, &result);
    // The API answered with an id only (no status, no fields): read, though empty.
    creatify::Job bare;
    bare.id = "bare";
    state::PollCycle cycle = persist_test::Cycle(kStart + 1, {bare});
    store.Apply(cycle);
    persist_test::WriteChanges(store, *file);
  }
  OpenResult result;
  auto file = MustOpen(path, kStart + 60, &result);
  REQUIRE(result.restored);
  state::Store restored(persist_test::Options(kStart + 60));
  restored.Restore(std::move(*result.restored));
  CHECK_FALSE(restored.Current()->FindKind("aurora")->jobs.at("bare").unread);
}

TEST_CASE("a kind that is off for a run keeps its rows, and its counts come back whole") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto store = WriteBusyState(path);
  const auto before = store->Current();
  const double aurora_done = before->FindKind("aurora")->completed.at(Status::kDone);
  REQUIRE(aurora_done > 0);
  store.reset();
  {
    // A run with aurora off, which writes.
    OpenResult result;
    auto file = MustOpen(path, kStart + 800, &result);
    REQUIRE(result.restored);
    auto options = persist_test::Options(kStart + 800);
    options.kinds = {"ads_clone"};
    state::Store off(options);
    off.Restore(std::move(*result.restored));
    off.Apply(persist_test::Cycle(kStart + 810, {},
                                  {persist_test::Job("c3", Status::kRunning, kStart + 805)}));
    persist_test::WriteChanges(off, *file);
    // Switched on again by a reload in the same run: everything is there.
    off.Reconfigure({"aurora", "ads_clone"}, 60, 600, 10000, nullptr, false);
    CHECK(off.Current()->FindKind("aurora")->completed.at(Status::kDone) == aurora_done);
    persist_test::WriteChanges(off, *file);
  }
  OpenResult result;
  auto file = MustOpen(path, kStart + 900, &result);
  REQUIRE(result.restored);
  state::Store on(persist_test::Options(kStart + 900));
  on.Restore(std::move(*result.restored));
  auto after = on.Current();
  CHECK(after->FindKind("aurora")->completed == before->FindKind("aurora")->completed);
  CHECK(after->FindKind("aurora")->credits_used == before->FindKind("aurora")->credits_used);
  CHECK(after->FindKind("aurora")->jobs.size() == before->FindKind("aurora")->jobs.size());
  CHECK(after->FindKind("aurora")->remembered == before->FindKind("aurora")->remembered);
}

TEST_CASE("jobs refused for the cap and unread jobs are stored as such") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto options = persist_test::Options();
  options.max_tracked_jobs = 1;
  {
    OpenResult result;
    auto file = MustOpen(path, kStart, &result);
    state::Store store(options);
    REQUIRE(store.AddJob("aurora", "announced") == state::AddResult::kAdded);
    store.Apply(
        persist_test::Cycle(kStart + 1, {persist_test::Job("over", Status::kRunning, kStart)}));
    REQUIRE(store.Current()->FindKind("aurora")->dropped.at("limit") == 1);
    persist_test::WriteChanges(store, *file);
  }
  OpenResult result;
  auto file = MustOpen(path, kStart + 60, &result);
  REQUIRE(result.restored);
  CHECK(result.restored->refused.size() == 1);
  state::Store restored(options);
  restored.Restore(std::move(*result.restored));
  restored.Apply(
      persist_test::Cycle(kStart + 61, {persist_test::Job("over", Status::kRunning, kStart)}));
  CHECK(restored.Current()->FindKind("aurora")->dropped.at("limit") == 1);
  CHECK(restored.Current()->FindKind("aurora")->jobs.at("announced").unread);
}

TEST_CASE("a file of schema version 1 is brought up to date in place, losing nothing") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto store = WriteBusyState(path);
  // What version 1 wrote: no unread column, no refused table, none of version 3's columns or
  // rows; an unread job had empty columns.
  Sql(path,
      "INSERT INTO jobs (kind, id, status, info, finished_at, counted, unread) VALUES "
      "('ads_clone', 'announced', 'unknown', '[]', 0, 0, 0);"
      "ALTER TABLE jobs DROP COLUMN unread; DROP TABLE refused;"
      "ALTER TABLE jobs DROP COLUMN seen_queued; ALTER TABLE jobs DROP COLUMN running_seen_at;"
      "DELETE FROM histograms WHERE name = 'stage';"
      "ALTER TABLE counters DROP COLUMN created; ALTER TABLE histograms DROP COLUMN created;"
      "PRAGMA user_version = 1;");
  OpenResult result;
  auto file = MustOpen(path, kStart + 900, &result);
  REQUIRE(result.restored);
  CHECK(result.moved_aside.empty());
  const size_t jobs = result.restored->jobs.size();
  state::Store restored(persist_test::Options(kStart + 900));
  restored.Restore(std::move(*result.restored));
  auto snapshot = restored.Current();
  CHECK(snapshot->FindKind("ads_clone")->jobs.at("announced").unread);
  CHECK(snapshot->FindKind("aurora")->completed == store->Current()->FindKind("aurora")->completed);
  // The file is version 3 now, and takes writes.
  restored.Apply(persist_test::Cycle(kStart + 901, {}));
  persist_test::WriteChanges(restored, *file);
  file.reset();
  OpenResult again;
  auto reopened = MustOpen(path, kStart + 902, &again);
  REQUIRE(again.restored);
  CHECK(again.restored->jobs.size() == jobs);
  Sql(path, "SELECT count(*) FROM refused");
}

TEST_CASE("a file of schema version 2 is brought up to date in place, losing nothing") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto store = WriteBusyState(path);
  auto before = store->Current();
  // What version 2 wrote: no seen_queued or running_seen_at column, no stage histograms.
  Sql(path,
      "ALTER TABLE jobs DROP COLUMN seen_queued; ALTER TABLE jobs DROP COLUMN running_seen_at;"
      "DELETE FROM histograms WHERE name = 'stage';"
      "ALTER TABLE counters DROP COLUMN created; ALTER TABLE histograms DROP COLUMN created;"
      "PRAGMA user_version = 2;");
  OpenResult result;
  auto file = MustOpen(path, kStart + 900, &result);
  REQUIRE(result.restored);
  CHECK(result.moved_aside.empty());
  const size_t jobs = result.restored->jobs.size();
  CHECK(jobs ==
        before->FindKind("aurora")->jobs.size() + before->FindKind("ads_clone")->jobs.size());
  state::Store restored(persist_test::Options(kStart + 900));
  restored.Restore(std::move(*result.restored));
  auto snapshot = restored.Current();
  for (const char* kind : {"aurora", "ads_clone"}) {
    INFO(kind);
    const auto& was = *before->FindKind(kind);
    const auto& now = *snapshot->FindKind(kind);
    CHECK(now.completed == was.completed);
    CHECK(now.credits_used == was.credits_used);
    CHECK(now.processing == was.processing);
    CHECK(now.dropped == was.dropped);
    CHECK(now.remembered == was.remembered);
    // The stage histograms start from zero, and no job restored from version 2 is observed.
    CHECK(now.stage.at("queued").count() == 0);
    CHECK(now.stage.at("running").count() == 0);
    for (const auto& record : now.jobs) {
      CHECK(record->job == was.jobs.at(record->job.id).job);
      CHECK_FALSE(record->seen_queued);
      CHECK(record->running_seen_at == 0);
    }
  }
  // a5 was read pending before: it is counted when it finishes, but not observed in stage.
  restored.Apply(
      persist_test::Cycle(kStart + 901, {persist_test::Job("a5", Status::kDone, kStart + 100)}));
  CHECK(restored.Current()->FindKind("aurora")->completed.at(Status::kDone) ==
        before->FindKind("aurora")->completed.at(Status::kDone) + 1);
  CHECK(restored.Current()->FindKind("aurora")->stage.at("queued").count() == 0);
  // The file is version 3 now, takes writes and keeps the new columns.
  persist_test::WriteChanges(restored, *file);
  file.reset();
  Sql(path, "SELECT seen_queued, running_seen_at FROM jobs");
  OpenResult again;
  auto reopened = MustOpen(path, kStart + 902, &again);
  REQUIRE(again.restored);
  CHECK(again.restored->jobs.size() == jobs);
  state::Store third(persist_test::Options(kStart + 902));
  third.Restore(std::move(*again.restored));
  persist_test::CheckSameState(*restored.Current(), *third.Current());
}

TEST_CASE("a job read queued before a restart and finished after it is observed with its times") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  const double created = kStart - 30;
  {
    OpenResult result;
    auto file = MustOpen(path, kStart, &result);
    Store store(persist_test::Options());
    store.Apply(
        persist_test::Cycle(kStart + 10, {persist_test::Job("q", Status::kInQueue, created),
                                          persist_test::Job("r", Status::kPending, created)}));
    persist_test::WriteChanges(store, *file);
    // r is seen running before the restart, q only after it.
    store.Apply(
        persist_test::Cycle(kStart + 20, {persist_test::Job("q", Status::kInQueue, created),
                                          persist_test::Job("r", Status::kRunning, created)}));
    persist_test::WriteChanges(store, *file);
  }
  OpenResult result;
  auto file = MustOpen(path, kStart + 40, &result);
  REQUIRE(result.restored);
  Store store(persist_test::Options(kStart + 40));
  store.Restore(std::move(*result.restored));
  {
    auto snapshot = store.Current();
    const auto& q = snapshot->FindKind("aurora")->jobs.at("q");
    const auto& r = snapshot->FindKind("aurora")->jobs.at("r");
    CHECK(q.seen_queued);
    CHECK(q.running_seen_at == 0);
    CHECK(r.seen_queued);
    CHECK(r.running_seen_at == kStart + 20);
  }
  store.Apply(
      persist_test::Cycle(kStart + 50, {persist_test::Job("q", Status::kRunning, created),
                                        persist_test::Job("r", Status::kRunning, created)}));
  // Job() makes updated_at created + 95.5.
  store.Apply(persist_test::Cycle(kStart + 70, {persist_test::Job("q", Status::kDone, created),
                                                persist_test::Job("r", Status::kDone, created)}));
  const auto* aurora = store.Current()->FindKind("aurora");
  CHECK(aurora->completed.at(Status::kDone) == 2);
  CHECK(aurora->stage.at("queued").count() == 2);
  CHECK(aurora->stage.at("queued").sum() == (50 + 30) + (20 + 30));
  CHECK(aurora->stage.at("running").count() == 2);
  CHECK(aurora->stage.at("running").sum() == (95.5 - 30 - 50) + (95.5 - 30 - 20));
}

TEST_CASE("each series' created time is kept with its count, and a new series starts later") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto store = WriteBusyState(path);
  const auto before = store->Current();
  REQUIRE(before->created);
  // The busy cycles' series: those there from the start, and those a later cycle made.
  std::set<double> times;
  for (const auto& [key, at] : *before->created) times.insert(at);
  CHECK(times.size() >= 2);
  CHECK(*times.begin() == before->watching_since);
  OpenResult result;
  auto file = MustOpen(path, kStart + 900, &result);
  REQUIRE(result.restored);
  // The wall clock, for changes between poll cycles.
  double clock = kStart + 900;
  auto options = persist_test::Options(kStart + 900);
  options.clock = [&clock] { return clock; };
  state::Store restored(std::move(options));
  restored.Restore(std::move(*result.restored));
  auto after = restored.Current();
  REQUIRE(after->created);
  // Every series that counts keeps the time it started counting, whatever the restart's time.
  state::ForEachCountedSeries(
      *before,
      [&](state::SeriesKey key, double) {
        CAPTURE(key[0]);
        CAPTURE(key[1]);
        CAPTURE(key[2]);
        CHECK(state::CreatedAt(*after, key, -1) == state::CreatedAt(*before, key, -2));
      },
      [&](state::SeriesKey key, const state::Histogram&) {
        CHECK(state::CreatedAt(*after, key, -1) == state::CreatedAt(*before, key, -2));
      });
  // A series made between poll cycles (by a webhook call) starts at the time of that call, not
  // at the last cycle's.
  restored.Apply(persist_test::Cycle(kStart + 950, {}));
  clock = kStart + 990;
  restored.CountWebhook("aurora", "brand_new_result");
  clock = kStart + 991;
  restored.CountWebhook("aurora", "another_result");
  restored.PublishIfChanged();
  CHECK(state::CreatedAt(*restored.Current(), {"webhook_requests", "aurora", "brand_new_result"},
                         -1) == kStart + 990);
  // Published together with the first change: both start at its time.
  CHECK(state::CreatedAt(*restored.Current(), {"webhook_requests", "aurora", "another_result"},
                         -1) == kStart + 990);
}

TEST_CASE("a file of schema version 3 is brought up to date: its series count from its start") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto store = WriteBusyState(path);
  Sql(path,
      "ALTER TABLE counters DROP COLUMN created; ALTER TABLE histograms DROP COLUMN created;"
      "PRAGMA user_version = 3;");
  OpenResult result;
  auto file = MustOpen(path, kStart + 900, &result);
  REQUIRE(result.restored);
  CHECK(result.moved_aside.empty());
  const double watching_since = result.restored->watching_since;
  state::Store restored(persist_test::Options(kStart + 900));
  restored.Restore(std::move(*result.restored));
  auto snapshot = restored.Current();
  CHECK(snapshot->FindKind("aurora")->completed == store->Current()->FindKind("aurora")->completed);
  state::ForEachCountedSeries(
      *snapshot,
      [&](state::SeriesKey key, double) {
        CHECK(state::CreatedAt(*snapshot, key, -1) == watching_since);
      },
      [&](state::SeriesKey key, const state::Histogram&) {
        CHECK(state::CreatedAt(*snapshot, key, -1) == watching_since);
      });
  // Written as version 4, the created times stay.
  persist_test::WriteChanges(restored, *file);
  file.reset();
  OpenResult again;
  auto reopened = MustOpen(path, kStart + 902, &again);
  REQUIRE(again.restored);
  REQUIRE(again.restored->counters.created);
  CHECK(again.restored->counters.created->at({"completed", "aurora", "done"}) == watching_since);
  Sql(path, "SELECT created FROM counters");
}

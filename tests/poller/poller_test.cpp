#include "poller/poller.h"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "creatify/kind.h"
#include "support/capture_stderr.h"

using creatify::Status;

namespace {

config::Config BaseConfig() {
  config::Config config;
  config.api_id = "id";
  config.api_key = "key";
  config.max_concurrency = 4;
  config.kinds["ads_clone"] = {.enabled = true, .ids = {}};
  config.kinds["custom_template"] = {.enabled = true, .ids = {}};
  config.kinds["aurora"] = {.enabled = false, .ids = {}, .ordering = "-created_at"};
  return config;
}

creatify::Response Json(std::string body, int status = 200) {
  return {
      .status = status, .code = std::to_string(status), .body = std::move(body), .seconds = 0.01};
}

std::string AdsClone(const std::string& id, const std::string& status, double credits = 0) {
  return R"({"id":")" + id + R"(","status":")" + status + R"(","credits_used":)" +
         std::to_string(credits) +
         R"(,"created_at":"2099-01-01T00:00:00Z","updated_at":"2099-01-01T00:05:00Z"})";
}

// What a terminal answer carries besides its id and status: the fields it is counted with (an
// answer without them is put off, in the hope of a complete one).
constexpr char kCountedFields[] =
    R"("credits_used":1,"created_at":"2099-01-01T00:00:00Z","updated_at":"2099-01-01T00:05:00Z")";

// Answers from a table; records every path asked for.
struct FakeApi {
  std::mutex mutex;
  std::map<std::string, creatify::Response> answers;
  std::vector<std::string> asked;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::set<int> workers;
  // When set, a request waits (at most 5 s) until two have been in flight at once, so that a test
  // sees requests overlap whatever the timing.
  bool wait_for_overlap = false;
  std::condition_variable overlapped;

  poller::Fetch Fetch() {
    return [this](int worker, const std::string& path) {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      if (wait_for_overlap) {
        std::unique_lock<std::mutex> lock(mutex);
        overlapped.notify_all();
        overlapped.wait_for(lock, std::chrono::seconds(5), [&] { return max_in_flight >= 2; });
      }
      creatify::Response response;
      {
        std::lock_guard<std::mutex> lock(mutex);
        asked.push_back(path);
        workers.insert(worker);
        auto it = answers.find(path);
        response = it != answers.end() ? it->second : Json(R"({"detail":"Not found."})", 404);
      }
      --in_flight;
      return response;
    };
  }
  int Asked(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex);
    return static_cast<int>(std::count(asked.begin(), asked.end(), path));
  }
};

std::vector<std::string> ActiveKinds(const config::Config& config) {
  std::vector<std::string> kinds;
  for (const auto& kind : config.kind_table) {
    if (config.KindActive(kind.name)) kinds.emplace_back(kind.name);
  }
  return kinds;
}

}  // namespace

TEST_CASE("by-id kinds are asked one job at a time, and terminal jobs never again") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"a1", "a2"};
  FakeApi api;
  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "running"));
  api.answers["/api/ads_clone/a2/"] = Json(AdsClone("a2", "in_queue"));
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 99.5})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());

  auto report = poller.RunCycle();
  CHECK(report.up);
  CHECK(report.requests == 3);
  CHECK(store.Current()->remaining_credits == 99.5);

  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "done", 20));
  poller.RunCycle();
  poller.RunCycle();
  CHECK(api.Asked("/api/ads_clone/a1/") == 2);
  CHECK(api.Asked("/api/ads_clone/a2/") == 3);
  auto kind = store.Current()->FindKind("ads_clone");
  CHECK(kind->completed.at(Status::kDone) == 1);
  CHECK(kind->credits_used == 20);
  CHECK(store.Current()->api_requests.at({"ads_clone", "200"}) == 5);
}

TEST_CASE("the whole aurora list is asked once per cycle with its ordering") {
  auto config = BaseConfig();
  config.kinds["aurora"].enabled = true;
  FakeApi api;
  api.answers["/api/aurora/?ordering=-created_at"] =
      Json(R"([{"id":"x","status":"running","progress":"0.5"},{"id":"y","status":"pending"}, 7])");
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().up);
  auto kind = store.Current()->FindKind("aurora");
  REQUIRE(kind != nullptr);
  CHECK(kind->jobs.size() == 2);
  CHECK(kind->jobs.at("x").job.progress == 0.5);
  CHECK(kind->invalid_items == 1);
  CHECK(store.Current()->FindKind("ads_clone") == nullptr);
}

TEST_CASE("configured aurora ids are asked in batches of at most 100, unfinished ones only") {
  auto config = BaseConfig();
  config.kinds["aurora"].enabled = true;
  for (int i = 0; i < 250; ++i) config.kinds["aurora"].ids.push_back("id" + std::to_string(i));
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  std::vector<std::string> batches;
  auto fetch = [&](int worker, const std::string& path) {
    if (path.rfind("/api/aurora/?ids=", 0) == 0) {
      std::lock_guard<std::mutex> lock(api.mutex);
      batches.push_back(path);
      std::string ids = path.substr(17, path.find('&') - 17);
      std::string body = "[";
      size_t start = 0;
      while (start < ids.size()) {
        size_t comma = ids.find(',', start);
        if (comma == std::string::npos) comma = ids.size();
        std::string id = ids.substr(start, comma - start);
        if (body.size() > 1) body += ",";
        body += R"({"id":")" + id + R"(","status":")" +
                (id == "id7" ? std::string("done\",") + kCountedFields : "running\"") + "}";
        start = comma + 1;
      }
      return Json(body + "]");
    }
    return api.Fetch()(worker, path);
  };
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, fetch);
  CHECK(poller.RunCycle().up);
  REQUIRE(batches.size() == 3);
  for (const auto& batch : batches) {
    CHECK(batch.find("&ordering=-created_at") != std::string::npos);
    CHECK(std::count(batch.begin(), batch.end(), ',') <= 99);
  }
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 250);
  batches.clear();
  poller.RunCycle();
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].find("id7,") == std::string::npos);
  CHECK(batches[0].find("id6,id8") != std::string::npos);
}

TEST_CASE("requests fan out over at most max_concurrency workers") {
  auto config = BaseConfig();
  config.max_concurrency = 3;
  for (int i = 0; i < 30; ++i) config.kinds["ads_clone"].ids.push_back("j" + std::to_string(i));
  FakeApi api;
  for (int i = 0; i < 30; ++i) {
    std::string id = "j" + std::to_string(i);
    api.answers["/api/ads_clone/" + id + "/"] = Json(AdsClone(id, "running"));
  }
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  api.wait_for_overlap = true;
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().requests == 31);
  CHECK(api.max_in_flight.load() <= 3);
  CHECK(api.max_in_flight.load() >= 2);
  for (int worker : api.workers) CHECK((worker >= 0 && worker < 3));
}

TEST_CASE("a 429 stops the cycle, sets up to 0 and asks to wait") {
  auto config = BaseConfig();
  config.max_concurrency = 1;
  config.kinds["ads_clone"].ids = {"a1", "a2", "a3"};
  FakeApi api;
  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "running"));
  creatify::Response limited = Json(R"({"detail":"Request was throttled."})", 429);
  limited.retry_after_seconds = 7;
  api.answers["/api/ads_clone/a2/"] = limited;
  api.answers["/api/ads_clone/a3/"] = Json(AdsClone("a3", "running"));
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  auto report = poller.RunCycle();
  CHECK_FALSE(report.up);
  CHECK(report.retry_after_seconds == 7);
  CHECK(api.Asked("/api/ads_clone/a3/") == 0);
  CHECK(store.Current()->api_requests.at({"ads_clone", "429"}) == 1);
  CHECK_FALSE(store.Current()->FindKind("ads_clone")->last_success.has_value());
}

TEST_CASE("a body that is not JSON is counted as parse, and the last known data stays") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"a1"};
  FakeApi api;
  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "running"));
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 5})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().up);
  api.answers["/api/ads_clone/a1/"] = Json("<html>Bad gateway</html>");
  api.answers["/api/remaining_credits/"] = Json("{\"remaining_credits\": ");
  CHECK_FALSE(poller.RunCycle().up);
  auto snapshot = store.Current();
  CHECK(snapshot->api_requests.at({"ads_clone", "parse"}) == 1);
  CHECK(snapshot->api_requests.at({"remaining_credits", "parse"}) == 1);
  CHECK(snapshot->remaining_credits == 5);
  CHECK(snapshot->FindKind("ads_clone")->jobs.at("a1").status == Status::kRunning);
  CHECK_FALSE(snapshot->up);
}

TEST_CASE("a job id the API does not know is a 404, not an outage") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"gone"};
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 5})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().up);
  CHECK(store.Current()->api_requests.at({"ads_clone", "404"}) == 1);
  CHECK(store.Current()->FindKind("ads_clone")->jobs.empty());
}

TEST_CASE("Start polls in the background and Stop ends it promptly") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"a1"};
  config.poll_interval = std::chrono::hours(1);
  FakeApi api;
  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "running"));
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 5})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  auto started = std::chrono::steady_clock::now();
  poller.Start();
  while (!store.Current()->polled &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(store.Current()->polled);
  poller.Stop();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(api.Asked("/api/ads_clone/a1/") == 1);
}

TEST_CASE("an unreachable API ends the cycle after a few transport errors, not one per job") {
  auto config = BaseConfig();
  config.max_concurrency = 1;
  for (int i = 0; i < 20; ++i) config.kinds["ads_clone"].ids.push_back("j" + std::to_string(i));
  std::atomic<int> asked{0};
  auto fetch = [&](int, const std::string&) {
    ++asked;
    return creatify::Response{.status = 0, .code = "timeout", .error = "Read timed out"};
  };
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, fetch);
  auto report = poller.RunCycle();
  CHECK_FALSE(report.up);
  CHECK(asked.load() == poller::kMaxConsecutiveTransportErrors);
  CHECK(store.Current()->polled);
  CHECK(store.Current()->api_requests.at({"ads_clone", "timeout"}) ==
        poller::kMaxConsecutiveTransportErrors);
}

TEST_CASE("a Retry-After beyond reason is capped") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"a1"};
  FakeApi api;
  creatify::Response limited = Json(R"({"detail":"Request was throttled."})", 429);
  limited.retry_after_seconds = 1e20;
  api.answers["/api/ads_clone/a1/"] = limited;
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().retry_after_seconds == poller::kMaxRetryAfterSeconds);
}

TEST_CASE("a listing with malformed items drops no job") {
  auto config = BaseConfig();
  config.kinds["aurora"].enabled = true;
  config.discovery_interval = std::chrono::milliseconds(0);  // a listing every cycle
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  api.answers["/api/aurora/?ordering=-created_at"] =
      Json(R"([{"id":"x","status":"running"},{"id":"y","status":"running"}])");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  poller.RunCycle();
  api.answers["/api/aurora/?ordering=-created_at"] =
      Json(R"([{"id":"x","status":"running"},{"id":7}])");
  poller.RunCycle();
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 2);
  api.answers["/api/aurora/?ordering=-created_at"] = Json(R"([{"id":"x","status":"running"}])");
  poller.RunCycle();
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 1);
}

TEST_CASE("an enabled kind with no ids is rendered and fresh, and asked nothing") {
  auto config = BaseConfig();
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  state::Store store({"ads_clone", "custom_template"}, 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().requests == 1);
  auto kind = store.Current()->FindKind("ads_clone");
  REQUIRE(kind != nullptr);
  CHECK(kind->last_success.has_value());
}

TEST_CASE("Stop cancels the requests in flight") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"slow"};
  std::mutex mutex;
  std::condition_variable changed;
  bool cancelled = false;
  bool in_flight = false;
  // The request ends only when cancelled (or after 10 s, so that a broken Stop fails the test
  // rather than hanging it).
  auto fetch = [&](int, const std::string&) {
    std::unique_lock<std::mutex> lock(mutex);
    in_flight = true;
    changed.notify_all();
    changed.wait_for(lock, std::chrono::seconds(10), [&] { return cancelled; });
    return creatify::Response{.status = 0, .code = "error", .error = "Canceled"};
  };
  auto cancel = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    cancelled = true;
    changed.notify_all();
  };
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, fetch, cancel);
  poller.Start();
  {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight; }));
  }
  const auto stop_started = std::chrono::steady_clock::now();
  poller.Stop();
  CHECK(std::chrono::steady_clock::now() - stop_started < std::chrono::seconds(5));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(cancelled);
}

namespace {

using testsupport::CaptureStderr;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a failing job is logged once per change, not on every cycle, and names its id") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"good", "bad"};
  FakeApi api;
  api.answers["/api/ads_clone/good/"] = Json(AdsClone("good", "running"));
  api.answers["/api/ads_clone/bad/"] = Json("<html>oops</html>", 500);
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());

  std::string log = CaptureStderr([&] {
    for (int i = 0; i < 5; ++i) poller.RunCycle();
  });
  CHECK(Count(log, "Creatify API request failed") == 1);
  CHECK(Count(log, "job_id=bad") == 1);
  CHECK(Count(log, "answers again") == 0);

  api.answers["/api/ads_clone/bad/"] = Json(AdsClone("bad", "running"));
  log = CaptureStderr([&] {
    for (int i = 0; i < 3; ++i) poller.RunCycle();
  });
  CHECK(Count(log, "answers again") == 1);
  CHECK(Count(log, "request failed") == 0);
}

TEST_CASE(
    "with a workspace, the poller's log lines name it, and without one they have no such field") {
  for (const std::string workspace : {"brand-a", ""}) {
    CAPTURE(workspace);
    auto config = BaseConfig();
    config.workspace = workspace;
    config.kinds["ads_clone"].ids = {"bad", "gone"};
    FakeApi api;
    api.answers["/api/ads_clone/bad/"] = Json("<html>oops</html>", 500);
    api.answers["/api/ads_clone/gone/"] = Json(R"({"detail": "Not found."})", 404);
    api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
    std::vector<std::string> kinds;
    for (const auto& kind : ActiveKinds(config))
      kinds.push_back(creatify::ScopedKind(workspace, kind));
    state::Store store(kinds, 0);
    poller::Poller poller(config, store, api.Fetch());
    std::string log = CaptureStderr([&] { poller.RunCycle(); });
    api.answers["/api/ads_clone/bad/"] = Json(AdsClone("bad", "running"));
    log += CaptureStderr([&] { poller.RunCycle(); });
    const int lines = Count(log, "\n");
    CHECK(Count(log, "Creatify API request failed") == 1);
    CHECK(Count(log, "Job not found") == 1);
    CHECK(Count(log, "answers again") == 1);
    if (workspace.empty()) {
      CHECK(Count(log, "workspace=") == 0);
    } else {
      CHECK(Count(log, " workspace=brand-a ") == lines);
    }
  }
}

namespace {

int ThreadCount() {
  int threads = 0;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) threads = std::atoi(line.c_str() + 8);
  }
  return threads;
}

}  // namespace

TEST_CASE("a cycle starts no thread: the workers are started once") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"a1", "a2", "a3", "a4", "a5", "a6"};
  FakeApi api;
  for (const auto& id : config.kinds["ads_clone"].ids) {
    api.answers["/api/ads_clone/" + id + "/"] = Json(AdsClone(id, "running"));
  }
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  const int before = ThreadCount();
  for (int i = 0; i < 5; ++i) {
    CHECK(poller.RunCycle().requests == 7);
    CHECK(ThreadCount() == before);
  }
}

TEST_CASE("refused credentials end the cycle at once, like a 429") {
  for (int status : {401, 403}) {
    auto config = BaseConfig();
    config.max_concurrency = 1;
    config.kinds["ads_clone"].ids = {"a1", "a2", "a3", "a4", "a5"};
    FakeApi api;
    for (const auto& id : config.kinds["ads_clone"].ids) {
      api.answers["/api/ads_clone/" + id + "/"] = Json(R"({"detail":"no"})", status);
    }
    api.answers["/api/remaining_credits/"] = Json(R"({"detail":"no"})", status);
    state::Store store(ActiveKinds(config), 0);
    poller::Poller poller(config, store, api.Fetch());
    auto report = poller.RunCycle();
    CHECK_FALSE(report.up);
    CHECK(report.requests == 1);
    CHECK(store.Current()->api_requests.at({"ads_clone", std::to_string(status)}) == 1);
  }
}

TEST_CASE(
    "a job asked by id that answers 404 three polls in a row is dropped and not asked again") {
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids = {"gone", "a1"};
  FakeApi api;
  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "running"));
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  for (int i = 0; i < 5; ++i) poller.RunCycle();
  CHECK(api.Asked("/api/ads_clone/gone/") == state::kNotFoundPolls);
  CHECK(api.Asked("/api/ads_clone/a1/") == 5);
  CHECK(store.Current()->FindKind("ads_clone")->dropped.at("not_found") == 1);
}

TEST_CASE("an id an ?ids= answer leaves out three polls in a row is dropped as not found") {
  auto config = BaseConfig();
  config.kinds["aurora"].enabled = true;
  config.kinds["aurora"].ordering = "";
  config.kinds["aurora"].ids = {"kept", "gone", "odd"};
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  // "gone" is not in the answer.
  api.answers["/api/aurora/?ids=kept,gone,odd"] =
      Json(R"([{"id":"kept","status":"running"},{"id":"odd","status":"running"}])");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  const std::string log = testsupport::CaptureStderr([&] {
    for (int i = 0; i < state::kNotFoundPolls - 1; ++i) poller.RunCycle();
    CHECK(store.Current()->FindKind("aurora")->dropped.at("not_found") == 0);
    poller.RunCycle();
  });
  CHECK(store.Current()->FindKind("aurora")->dropped.at("not_found") == 1);
  // Logged once, not once per cycle.
  CHECK(log.find("Job not found") != std::string::npos);
  CHECK(log.find("Job not found") == log.rfind("Job not found"));
  CHECK(log.find("job_id=gone") != std::string::npos);
  // Not asked for again.
  poller.RunCycle();
  CHECK(api.Asked("/api/aurora/?ids=kept,odd") == 1);
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 2);

  // An answer with an item that cannot be read says nothing of the ids missing from it: "odd"
  // may be that item.
  api.answers["/api/aurora/?ids=kept,odd"] =
      Json(R"([{"id":"kept","status":"running"},{"status":"running"}])");
  for (int i = 0; i < 2 * state::kNotFoundPolls; ++i) poller.RunCycle();
  CHECK(store.Current()->FindKind("aurora")->dropped.at("not_found") == 1);
  CHECK(api.Asked("/api/aurora/?ids=kept,odd") == 1 + 2 * state::kNotFoundPolls);
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 2);
}

TEST_CASE("between two listings, only the unfinished jobs found are asked for, by ?ids=") {
  auto config = BaseConfig();
  config.kinds["aurora"].enabled = true;
  config.discovery_interval = std::chrono::hours(1);
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  api.answers["/api/aurora/?ordering=-created_at"] = Json(
      R"([{"id":"x","status":"running"},{"id":"y","status":"done","created_at":"2000-01-01T00:00:00Z"},{"id":"z","status":"pending"}])");
  api.answers["/api/aurora/?ids=x,z&ordering=-created_at"] =
      Json(std::string(R"([{"id":"x","status":"done",)") + kCountedFields +
           R"(},{"id":"z","status":"running"}])");
  api.answers["/api/aurora/?ids=z&ordering=-created_at"] =
      Json(std::string(R"([{"id":"z","status":"done",)") + kCountedFields + "}]");
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  CHECK(poller.RunCycle().requests == 2);  // the listing and the credits
  CHECK(poller.RunCycle().requests == 2);  // ?ids=x,z and the credits
  CHECK(poller.RunCycle().requests == 2);  // ?ids=z and the credits
  CHECK(poller.RunCycle().requests == 1);  // nothing unfinished: the credits only
  CHECK(api.Asked("/api/aurora/?ordering=-created_at") == 1);
  CHECK(api.Asked("/api/aurora/?ids=x,z&ordering=-created_at") == 1);
  CHECK(api.Asked("/api/aurora/?ids=z&ordering=-created_at") == 1);
  auto kind = store.Current()->FindKind("aurora");
  CHECK(kind->completed.at(Status::kDone) == 2);
  // An ?ids= answer is not a complete listing: nothing is dropped for being missing from it.
  CHECK(kind->jobs.size() == 3);
}

TEST_CASE("a 429 without Retry-After asks for no wait of its own: the loop backs off") {
  auto config = BaseConfig();
  config.max_concurrency = 1;
  config.kinds["ads_clone"].ids = {"a1", "a2"};
  FakeApi api;
  api.answers["/api/ads_clone/a1/"] = Json(R"({"detail":"Request was throttled."})", 429);
  state::Store store(ActiveKinds(config), 0);
  poller::Poller poller(config, store, api.Fetch());
  auto report = poller.RunCycle();
  CHECK(report.rate_limited);
  CHECK_FALSE(report.retry_after_seconds.has_value());
  CHECK(api.Asked("/api/ads_clone/a2/") == 0);
}

TEST_CASE("BackoffSeconds: doubles from the poll interval, jittered down by up to half, capped") {
  // interval * 2^attempt, times 0.5 + random01 / 2.
  CHECK(poller::BackoffSeconds(1, 1, 0) == 1);
  CHECK(poller::BackoffSeconds(1, 1, 0.999) == doctest::Approx(1.999));
  CHECK(poller::BackoffSeconds(1, 2, 0) == 2);
  CHECK(poller::BackoffSeconds(1, 3, 0.5) == doctest::Approx(6));
  // Each attempt's range starts where the previous one's ends: the waits grow.
  for (int attempt = 1; attempt < 8; ++attempt) {
    CAPTURE(attempt);
    CHECK(poller::BackoffSeconds(1, attempt + 1, 0) >= poller::BackoffSeconds(1, attempt, 0.999));
  }
  // Capped, however many attempts, and never shorter than the interval.
  CHECK(poller::BackoffSeconds(1, 100, 0.999) < poller::kMaxBackoffSeconds);
  CHECK(poller::BackoffSeconds(1, 100, 0) == poller::kMaxBackoffSeconds / 2);
  CHECK(poller::BackoffSeconds(1000, 5, 0) == 1000);
  CHECK(poller::BackoffSeconds(30, 0, 0) == 30);
}

TEST_CASE("an ids file is re-read when it changes: new ids polled, removed ones leave") {
  char dir_template[] = "/tmp/creatify-ids-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/ids.txt";
  auto write = [&](const std::string& text) {
    // A new file renamed into place, the way a ConfigMap volume swaps its contents.
    std::ofstream(path + ".new") << text;
    REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
  };
  write("a1\n# a comment\n\nnot an id\n");
  auto config = BaseConfig();
  config.kinds["ads_clone"].ids_file = path;
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  api.answers["/api/ads_clone/a1/"] = Json(AdsClone("a1", "running"));
  api.answers["/api/ads_clone/a2/"] = Json(AdsClone("a2", "running"));
  state::Store store(ActiveKinds(config), 0);
  std::unique_ptr<poller::Poller> poller;
  std::string log = testsupport::CaptureStderr([&] {
    poller = std::make_unique<poller::Poller>(config, store, api.Fetch());
    poller->RunCycle();
    poller->RunCycle();
  });
  CHECK(api.Asked("/api/ads_clone/a1/") == 2);
  auto snapshot = store.Current();
  CHECK(snapshot->FindKind("ads_clone")->jobs.contains("a1"));
  CHECK(snapshot->ids_files.at("ads_clone").ids == 1);
  CHECK(snapshot->ids_files.at("ads_clone").invalid_lines == 1);
  CHECK(log.find("not an id") != std::string::npos);

  write("a2\n");
  poller->RunCycle();
  CHECK(api.Asked("/api/ads_clone/a1/") == 2);
  CHECK(api.Asked("/api/ads_clone/a2/") == 1);
  snapshot = store.Current();
  CHECK_FALSE(snapshot->FindKind("ads_clone")->jobs.contains("a1"));
  CHECK(snapshot->FindKind("ads_clone")->jobs.contains("a2"));

  // Deleted: the ids last read stay, and the failed read is counted; recreated: read again, and
  // a malformed line already logged is not logged again.
  std::remove(path.c_str());
  log = testsupport::CaptureStderr([&] { poller->RunCycle(); });
  CHECK(log.find("Cannot read the ids file") != std::string::npos);
  CHECK(api.Asked("/api/ads_clone/a2/") == 2);
  CHECK(store.Current()->ids_files.at("ads_clone").read_errors == 1);
  write("a1\na2\nnot an id\n");
  log = testsupport::CaptureStderr([&] { poller->RunCycle(); });
  CHECK(log.find("not an id") == std::string::npos);
  CHECK(api.Asked("/api/ads_clone/a1/") == 3);
  CHECK(store.Current()->FindKind("ads_clone")->jobs.size() == 2);
  std::filesystem::remove_all(dir_template);
}

TEST_CASE("hinted jobs are read at once, in ?ids= batches for list kinds, and counted once") {
  auto config = BaseConfig();
  config.kinds["aurora"].enabled = true;
  config.kinds["aurora"].ids = {"known"};
  FakeApi api;
  api.answers["/api/ads_clone/w1/"] = Json(AdsClone("w1", "done", 4));
  api.answers["/api/aurora/?ids=h1,h2"] =
      Json(std::string(R"([{"id":"h1","status":"running"},{"id":"h2","status":"done",)") +
           kCountedFields + "}]");
  state::Store store(config.EnabledKinds(), 0);
  poller::Hints hints;
  poller::Poller poller(config, store, api.Fetch(), nullptr, {}, &hints);
  REQUIRE(store.AddJob("ads_clone", "w1") == state::AddResult::kAdded);
  REQUIRE(store.AddJob("aurora", "h1") == state::AddResult::kAdded);
  REQUIRE(store.AddJob("aurora", "h2") == state::AddResult::kAdded);
  hints.Add("ads_clone", "w1");
  hints.Add("ads_clone", "w1");
  hints.Add("aurora", "h1");
  hints.Add("aurora", "h2");
  hints.Add("lipsync", "x");
  CHECK(poller.ReadHints() == 2);
  CHECK(api.asked.size() == 2);
  auto snapshot = store.Current();
  CHECK(snapshot->FindKind("ads_clone")->completed.at(Status::kDone) == 1);
  CHECK(snapshot->FindKind("ads_clone")->credits_used == 4);
  CHECK(snapshot->FindKind("aurora")->completed.at(Status::kDone) == 1);
  CHECK(snapshot->FindKind("aurora")->jobs.at("h1").status == Status::kRunning);
  // Not a whole cycle: readiness waits for the first poll.
  CHECK_FALSE(snapshot->polled);
  // Finished jobs are not read again, by a hint or by a poll.
  hints.Add("ads_clone", "w1");
  CHECK(poller.ReadHints() == 0);
  poller.RunCycle();
  CHECK(api.Asked("/api/ads_clone/w1/") == 1);
  CHECK(store.Current()->FindKind("ads_clone")->completed.at(Status::kDone) == 1);
}

TEST_CASE("the hint reader runs in the background and stops with the poller") {
  auto config = BaseConfig();
  config.poll_interval = std::chrono::hours(1);
  FakeApi api;
  api.answers["/api/remaining_credits/"] = Json(R"({"remaining_credits": 1})");
  api.answers["/api/ads_clone/w1/"] = Json(AdsClone("w1", "running"));
  state::Store store(config.EnabledKinds(), 0);
  poller::Hints hints;
  poller::Poller poller(config, store, api.Fetch(), nullptr, {}, &hints);
  poller.Start();
  REQUIRE(store.AddJob("ads_clone", "w1") == state::AddResult::kAdded);
  hints.Add("ads_clone", "w1");
  bool read = false;
  for (int i = 0; i < 500 && !read; ++i) {
    auto snapshot = store.Current();
    const auto* job = snapshot->FindKind("ads_clone")->jobs.find("w1");
    read = job != nullptr && !job->unread;
    if (!read) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(read);
  poller.Stop();
}

TEST_CASE("the static ids are the config's, then the ids file's, each once, however many") {
  char dir_template[] = "/tmp/creatify-static-ids-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/ids.txt";
  auto config = BaseConfig();
  // Short ids (kept inside the strings) and many of them: the list grows while it is compared.
  config.kinds["ads_clone"].ids = {"c1", "c2", "shared"};
  std::string file;
  std::vector<std::string> expected = {"c1", "c2", "shared"};
  for (int i = 0; i < 50; ++i) {
    file += "f" + std::to_string(i) + "\nshared\nc1\n";
    expected.push_back("f" + std::to_string(i));
  }
  std::ofstream(path) << file;
  config.kinds["ads_clone"].ids_file = path;
  state::Store store(ActiveKinds(config), 0);
  FakeApi api;
  {
    poller::Poller poller(config, store, api.Fetch());
    CHECK(poller.StaticIds().at("ads_clone") == expected);
  }
  std::filesystem::remove_all(dir_template);
}

TEST_CASE("with workspaces a job's shard is FNV-1a 64 of <workspace>/<id>, without it of the id") {
  // The README's statement of the hash, written out independently of state::IdHash.
  auto fnv1a = [](std::string_view text) {
    uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    return hash;
  };
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "job-" + std::to_string(i * 7919);
    for (int total : {2, 3, 5}) {
      for (int index = 0; index < total; ++index) {
        const poller::Shard shard{.index = index, .total = total};
        const auto owner = [&](std::string_view key) {
          return fnv1a(key) % static_cast<uint64_t>(total) == static_cast<uint64_t>(index);
        };
        CHECK(shard.Owns("", id) == owner(id));
        CHECK(shard.Owns(id) == owner(id));
        CHECK(shard.Owns("brand-a", id) == owner("brand-a/" + id));
        differ += shard.Owns("brand-a", id) != shard.Owns("brand-b", id) ? 1 : 0;
      }
    }
  }
  // The same id in two workspaces is two jobs, spread on their own.
  CHECK(differ > 0);
  CHECK(poller::Shard{.index = 0, .total = 1}.Owns("brand-a", "x"));
}

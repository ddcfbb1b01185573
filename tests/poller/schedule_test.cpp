// poller::Schedule: when the API may be asked survives the poller (a reload replaces the poller,
// never the schedule). The loop's time comes from a FakeClock, so that each test sees until when
// the loop sleeps, and that it asks nothing before.
#include "poller/schedule.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "poller/fake_clock.h"
#include "poller/poller.h"

namespace {

using namespace std::chrono_literals;

config::Config Config(const std::vector<std::string>& ads_clone_ids) {
  config::Config config;
  config.api_id = "id";
  config.api_key = "key";
  config.max_concurrency = 1;
  config.poll_interval = std::chrono::minutes(1);
  config.kinds["ads_clone"] = {.enabled = true, .ids = ads_clone_ids};
  config.kinds["custom_template"] = {.enabled = false, .ids = {}};
  config.kinds["aurora"] = {.enabled = false, .ids = {}};
  return config;
}

creatify::Response Json(std::string body, int status = 200) {
  return {.status = status, .code = std::to_string(status), .body = std::move(body)};
}

creatify::Response Throttled(std::optional<double> retry_after) {
  auto response = Json(R"({"detail":"Request was throttled."})", 429);
  response.retry_after_seconds = retry_after;
  return response;
}

constexpr char kRunning[] = R"({"id":"a1","status":"running","created_at":"2099-01-01T00:00:00Z"})";

// Answers from a table (404 otherwise; the credits are known); counts the requests.
struct FakeApi {
  std::mutex mutex;
  std::map<std::string, creatify::Response> answers = {
      {"/api/remaining_credits/", Json(R"({"remaining_credits": 1})")}};
  std::vector<std::string> asked;

  poller::Fetch Fetch() {
    return [this](int, const std::string& path) {
      std::lock_guard<std::mutex> lock(mutex);
      asked.push_back(path);
      auto it = answers.find(path);
      return it != answers.end() ? it->second : Json(R"({"detail":"Not found."})", 404);
    };
  }
  void Answer(const std::string& path, creatify::Response response) {
    std::lock_guard<std::mutex> lock(mutex);
    answers[path] = std::move(response);
  }
  int Requests() {
    std::lock_guard<std::mutex> lock(mutex);
    return static_cast<int>(asked.size());
  }
  int Asked(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex);
    return static_cast<int>(std::count(asked.begin(), asked.end(), path));
  }
};

// Until when (in seconds after `start`) the loop sleeps at its `n`-th sleep or later; -1 when it
// did not go to sleep within 10 s.
double SleepsFor(testsupport::FakeClock& clock, int n, poller::Clock::TimePoint start) {
  const auto until = clock.AwaitSleep(n);
  return until ? std::chrono::duration<double>(*until - start).count() : -1;
}

double Seconds(poller::Clock::Duration duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

TEST_CASE("a first poller on a fresh schedule polls at once, then every poll_interval") {
  testsupport::FakeClock clock;
  poller::Schedule schedule(clock);
  const auto start = clock.Now();
  CHECK(schedule.NextCycleAt(1min) == start);
  const auto config = Config({"a1"});
  FakeApi api;
  api.Answer("/api/ads_clone/a1/", Json(kRunning));
  state::Store store(config.EnabledKinds(), 0);
  poller::Poller poller(config, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
  poller.Start();
  // The first cycle ran without the clock moving, and the loop sleeps until start + interval.
  CHECK(SleepsFor(clock, 1, start) == Seconds(1min));
  CHECK(api.Asked("/api/ads_clone/a1/") == 1);
  clock.Advance(1min);
  CHECK(SleepsFor(clock, 2, start) == Seconds(2min));
  CHECK(api.Asked("/api/ads_clone/a1/") == 2);
  poller.Stop();
}

TEST_CASE(
    "after a 429 with Retry-After, a new poller on the same schedule asks nothing before the wait "
    "ends") {
  testsupport::FakeClock clock;
  poller::Schedule schedule(clock);
  const auto start = clock.Now();
  const auto config = Config({"a1"});
  FakeApi api;
  api.Answer("/api/ads_clone/a1/", Throttled(600));
  state::Store store(config.EnabledKinds(), 0);
  {
    poller::Poller first(config, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
    first.Start();
    CHECK(SleepsFor(clock, 1, start) == Seconds(600s));
    CHECK(api.Requests() == 1);
    first.Stop();
  }
  CHECK(schedule.NotBefore() == start + 600s);
  CHECK_FALSE(schedule.MayAsk());

  // A webhook's hint is not read during the wait either, by a new poller.
  api.Answer("/api/ads_clone/a1/", Json(kRunning));
  poller::Hints hints;
  {
    poller::Poller hinted(config, store, api.Fetch(), nullptr, {}, &hints, &schedule);
    const auto added = store.AddJob("ads_clone", "a1");
    REQUIRE((added == state::AddResult::kAdded || added == state::AddResult::kKnown));
    hints.Add("ads_clone", "a1");
    CHECK(hinted.ReadHints() == 0);
  }
  CHECK(api.Requests() == 1);

  // Five reloads, say: each new poller sleeps until the wait ends.
  for (int reload = 0; reload < 5; ++reload) {
    CAPTURE(reload);
    const int slept = clock.sleeps();
    poller::Poller next(config, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
    next.Start();
    CHECK(SleepsFor(clock, slept + 1, start) == Seconds(600s));
    next.Stop();
  }
  CHECK(api.Requests() == 1);

  poller::Poller last(config, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
  // Counted before Start: the loop may go to sleep at once.
  const int slept = clock.sleeps();
  last.Start();
  CHECK(SleepsFor(clock, slept + 1, start) == Seconds(600s));
  clock.Advance(599s);
  CHECK(SleepsFor(clock, slept + 2, start) == Seconds(600s));
  CHECK(api.Requests() == 1);
  clock.Advance(1s);
  // The wait is over: the cycle runs, and the next is an interval after it.
  CHECK(SleepsFor(clock, slept + 3, start) == Seconds(600s + 1min));
  CHECK(api.Asked("/api/ads_clone/a1/") == 2);
  CHECK(schedule.MayAsk());
  last.Stop();
}

TEST_CASE(
    "a new poller starts no cycle before the last start plus the interval, and reads a new kind "
    "then") {
  testsupport::FakeClock clock;
  poller::Schedule schedule(clock);
  const auto start = clock.Now();
  auto before = Config({"a1"});
  auto after = before;
  after.kinds["aurora"] = {.enabled = true, .ids = {"n1"}};
  FakeApi api;
  api.Answer("/api/ads_clone/a1/", Json(kRunning));
  api.Answer("/api/aurora/?ids=n1", Json(R"([{"id":"n1","status":"running"}])"));
  state::Store store(after.EnabledKinds(), 0);
  {
    poller::Poller first(before, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
    first.Start();
    CHECK(SleepsFor(clock, 1, start) == Seconds(1min));
    const int slept = clock.sleeps();
    clock.Advance(10s);
    CHECK(SleepsFor(clock, slept + 1, start) == Seconds(1min));
    first.Stop();
  }
  CHECK(api.Asked("/api/ads_clone/a1/") == 1);

  // The reload, 10 s into the interval: the new kind waits for the next scheduled cycle.
  poller::Poller second(after, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
  // Counted before Start: the loop may go to sleep at once.
  const int slept = clock.sleeps();
  second.Start();
  CHECK(SleepsFor(clock, slept + 1, start) == Seconds(1min));
  CHECK(api.Asked("/api/ads_clone/a1/") == 1);
  CHECK(api.Asked("/api/aurora/?ids=n1") == 0);
  clock.Advance(50s);
  CHECK(SleepsFor(clock, slept + 2, start) == Seconds(2min));
  CHECK(api.Asked("/api/ads_clone/a1/") == 2);
  CHECK(api.Asked("/api/aurora/?ids=n1") == 1);
  CHECK(store.Current()->FindKind("aurora")->jobs.find("n1") != nullptr);
  second.Stop();
}

TEST_CASE("the backoff after 429s without Retry-After goes on across a new poller") {
  testsupport::FakeClock clock;
  // No jitter: each wait is the upper half's floor, interval * 2^attempt / 2.
  poller::Schedule schedule(clock, [] { return 0.0; });
  const auto start = clock.Now();
  auto config = Config({"a1"});
  config.poll_interval = 10s;
  FakeApi api;
  api.Answer("/api/ads_clone/a1/", Throttled(std::nullopt));
  state::Store store(config.EnabledKinds(), 0);
  {
    poller::Poller first(config, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
    first.Start();
    CHECK(SleepsFor(clock, 1, start) == Seconds(10s));
    first.Stop();
  }
  CHECK(schedule.backoff_attempts() == 1);
  poller::Poller second(config, store, api.Fetch(), nullptr, {}, nullptr, &schedule);
  // Counted before Start: the loop may go to sleep at once.
  const int slept = clock.sleeps();
  second.Start();
  CHECK(SleepsFor(clock, slept + 1, start) == Seconds(10s));
  clock.Advance(10s);
  // The second 429 in a row: 10 s * 2^2 / 2, from the end of the cycle.
  CHECK(SleepsFor(clock, slept + 2, start) == Seconds(10s + 20s));
  CHECK(schedule.backoff_attempts() == 2);
  CHECK(api.Requests() == 2);
  second.Stop();
}

TEST_CASE(
    "a cycle cut short by a stop leaves the backoff, and a whole one without a 429 resets it") {
  testsupport::FakeClock clock;
  poller::Schedule schedule(clock, [] { return 0.0; });
  schedule.CycleStarted();
  schedule.CycleFinished(10s, true, std::nullopt);
  CHECK(schedule.backoff_attempts() == 1);
  schedule.CycleStarted();
  schedule.CycleFinished(10s, false, std::nullopt, /*whole=*/false);
  CHECK(schedule.backoff_attempts() == 1);
  schedule.CycleStarted();
  schedule.CycleFinished(10s, false, std::nullopt);
  CHECK(schedule.backoff_attempts() == 0);
}

#include "app/coalescer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A piece of work that numbers its runs and, while `hold` is set, blocks in each until released.
struct GatedWork {
  std::mutex mutex;
  std::condition_variable changed;
  int started = 0;
  int released = 0;
  bool hold = true;

  std::string operator()() {
    std::unique_lock<std::mutex> lock(mutex);
    const int run = ++started;
    changed.notify_all();
    changed.wait(lock, [&] { return !hold || released >= run; });
    return "run " + std::to_string(run);
  }
  // Waits until `n` runs started; false after 10 s (a failed test, not a hang).
  bool WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return started >= n; });
  }
  void Release(int run) {
    std::lock_guard<std::mutex> lock(mutex);
    released = run;
    changed.notify_all();
  }
};

// Waits until `coalescer` has `n` callers waiting for its next run; false after 10 s.
bool WaitWaiting(const app::Coalescer& coalescer, int n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (coalescer.waiting() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("a call with no run going runs the work once and returns its result") {
  GatedWork work;
  work.hold = false;
  app::Coalescer coalescer([&] { return work(); });
  CHECK(coalescer.Run() == "run 1");
  CHECK(coalescer.Run() == "run 2");
  CHECK(coalescer.runs() == 2);
}

TEST_CASE("calls made during a run share the next run: eight overlapping calls make two runs") {
  GatedWork work;
  app::Coalescer coalescer([&] { return work(); });
  std::string first;
  std::thread starter([&] { first = coalescer.Run(); });
  REQUIRE(work.WaitStarted(1));

  constexpr int kLate = 8;
  std::vector<std::string> results(kLate);
  std::vector<std::thread> late;
  for (int i = 0; i < kLate; ++i) late.emplace_back([&, i] { results[i] = coalescer.Run(); });
  REQUIRE(WaitWaiting(coalescer, kLate));
  // None of them started a run of its own while the first runs.
  CHECK(coalescer.runs() == 1);

  work.Release(1);
  // The next run starts once the first ends, for all of them at once.
  REQUIRE(work.WaitStarted(2));
  work.Release(2);
  starter.join();
  for (auto& thread : late) thread.join();
  CHECK(first == "run 1");
  for (const auto& result : results) CHECK(result == "run 2");
  CHECK(coalescer.runs() == 2);
}

TEST_CASE("a call made while the shared next run runs waits for a third: no change is missed") {
  GatedWork work;
  app::Coalescer coalescer([&] { return work(); });
  std::string first, second, third;
  std::thread a([&] { first = coalescer.Run(); });
  REQUIRE(work.WaitStarted(1));
  std::thread b([&] { second = coalescer.Run(); });
  REQUIRE(WaitWaiting(coalescer, 1));
  work.Release(1);
  REQUIRE(work.WaitStarted(2));
  std::thread c([&] { third = coalescer.Run(); });
  REQUIRE(WaitWaiting(coalescer, 1));
  work.Release(2);
  REQUIRE(work.WaitStarted(3));
  work.Release(3);
  a.join();
  b.join();
  c.join();
  CHECK(first == "run 1");
  CHECK(second == "run 2");
  CHECK(third == "run 3");
}

// The rule, over random interleavings: every call gets the result of a run that started after
// the call began (so that it saw every change made before the call), and a call that overlaps a
// run never starts one of its own while that run goes. Replay a seed with
// CREATIFY_COALESCER_SEED=N.
TEST_CASE("every call gets the result of a run that started after it, over random interleavings") {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("CREATIFY_COALESCER_SEED")) {
    seed = static_cast<unsigned>(std::strtoul(fixed, nullptr, 10));
  }
  std::printf("coalescer seed: %u (replay with CREATIFY_COALESCER_SEED=%u)\n", seed, seed);
  CAPTURE(seed);

  std::atomic<int> started{0};
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  std::mt19937 spins_source(seed);
  std::mutex spins_mutex;
  auto spins = [&] {
    std::lock_guard<std::mutex> lock(spins_mutex);
    return std::uniform_int_distribution<int>(0, 2000)(spins_source);
  };
  app::Coalescer coalescer([&] {
    const int run = ++started;
    if (++running > 1) overlapped.store(true);
    for (int i = spins(); i > 0; --i) std::this_thread::yield();
    --running;
    return std::to_string(run);
  });

  constexpr int kThreads = 6;
  constexpr int kCallsEach = 40;
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int call = 0; call < kCallsEach; ++call) {
        for (int i = spins() / 4; i > 0; --i) std::this_thread::yield();
        const int before = started.load();
        const int served_by = std::stoi(coalescer.Run());
        if (served_by <= before) ++violations;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(violations.load() == 0);
  CHECK_FALSE(overlapped.load());
  CHECK(coalescer.runs() == started.load());
  CHECK(coalescer.runs() <= kThreads * kCallsEach);
}

TEST_CASE("calls asked before a run started share it, even when they get there after it ended") {
  int runs = 0;
  app::Coalescer coalescer([&] { return "run " + std::to_string(++runs); });
  // Five requests arrive together; the server's POST handlers take them in turns, so they reach
  // the coalescer one after another.
  const auto asked = app::Coalescer::Clock::now();
  for (int i = 0; i < 5; ++i) CHECK(coalescer.Run(asked) == "run 1");
  CHECK(coalescer.runs() == 1);
  // One asked after that run started gets a run of its own.
  CHECK(coalescer.Run() == "run 2");
  CHECK(coalescer.Run(asked) == "run 2");
  CHECK(coalescer.runs() == 2);
}

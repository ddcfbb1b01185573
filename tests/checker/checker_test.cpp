// The checker of issue 15: random operation sequences run against the real exporter and
// compared with the reference model, and the regression seeds replayed.
//
// Environment:
//   CREATIFY_CHECKER_SEED=N         replay the one sequence N (the regression case then skips)
//   CREATIFY_CHECKER_BASE_SEED=N    first seed of the random run (else drawn and printed)
//   CREATIFY_CHECKER_SECONDS=S      how long the random run starts new sequences (default 30)
//   CREATIFY_CHECKER_JOBS=J         sequences run side by side (default 3)
//   CREATIFY_CHECKER_EXPORTER=PATH  the exporter to check (default: this build's)
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checker/driver.h"

namespace {

// CREATIFY_CHECKER_EXPORTER runs another build of the exporter.
std::string Binary() {
  const char* other = std::getenv("CREATIFY_CHECKER_EXPORTER");
  if (other != nullptr && *other != '\0') return other;
  return std::string(CREATIFY_BINARY_DIR) + "/creatify-exporter";
}

std::optional<unsigned long long> EnvNumber(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::strtoull(value, nullptr, 10);
}

struct RunSummary {
  int sequences = 0;
  long operations = 0;
  std::vector<uint64_t> failed;
};

// Runs the seeds `next` hands out (std::nullopt: no more) on `jobs` threads; prints each
// failure's report as it comes.
RunSummary RunSeeds(const std::function<std::optional<uint64_t>()>& next, int jobs) {
  RunSummary summary;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int i = 0; i < jobs; ++i) {
    threads.emplace_back([&] {
      while (true) {
        std::optional<uint64_t> seed;
        {
          std::lock_guard<std::mutex> lock(mutex);
          seed = next();
        }
        if (!seed) return;
        const checker::SequenceResult result = checker::RunSequence(*seed, Binary());
        std::lock_guard<std::mutex> lock(mutex);
        ++summary.sequences;
        summary.operations += result.operations;
        if (!result.ok) {
          summary.failed.push_back(result.seed);
          std::fprintf(stderr, "%s\n", result.report.c_str());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return summary;
}

std::string Seeds(const std::vector<uint64_t>& seeds) {
  std::string out;
  for (uint64_t seed : seeds) out += (out.empty() ? "" : " ") + std::to_string(seed);
  return out.empty() ? "none" : out;
}

}  // namespace

TEST_CASE("checker: random sequences against the model") {
  const auto started = std::chrono::steady_clock::now();
  if (auto seed = EnvNumber("CREATIFY_CHECKER_SEED")) {
    std::fprintf(stderr, "checker: replaying seed %llu\n", *seed);
    const auto result = checker::RunSequence(*seed, Binary());
    if (!result.ok) std::fprintf(stderr, "%s\n", result.report.c_str());
    CHECK_MESSAGE(result.ok, "seed ", *seed, " failed (report above)");
    return;
  }
  const uint64_t base = EnvNumber("CREATIFY_CHECKER_BASE_SEED").value_or(std::random_device{}());
  const auto budget = std::chrono::seconds(EnvNumber("CREATIFY_CHECKER_SECONDS").value_or(30));
  const int jobs = static_cast<int>(EnvNumber("CREATIFY_CHECKER_JOBS").value_or(3));
  std::fprintf(stderr,
               "checker: base seed %llu (CREATIFY_CHECKER_BASE_SEED=%llu replays the run)\n",
               static_cast<unsigned long long>(base), static_cast<unsigned long long>(base));
  uint64_t seed = base;
  const RunSummary summary = RunSeeds(
      [&]() -> std::optional<uint64_t> {
        if (std::chrono::steady_clock::now() - started >= budget) return std::nullopt;
        return seed++;
      },
      jobs);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr,
               "checker: %d sequences, %ld operations in %.0f s; base seed %llu; failing seeds: "
               "%s\n",
               summary.sequences, summary.operations, seconds,
               static_cast<unsigned long long>(base), Seeds(summary.failed).c_str());
  CHECK(summary.sequences > 0);
  CHECK_MESSAGE(summary.failed.empty(), "failing seeds: ", Seeds(summary.failed));
}

TEST_CASE("checker: regression seeds") {
  if (EnvNumber("CREATIFY_CHECKER_SEED")) return;
  std::ifstream in(std::string(CREATIFY_SOURCE_DIR) + "/tests/checker/regression_seeds.txt");
  REQUIRE(in.good());
  std::vector<uint64_t> seeds;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line.substr(0, line.find('#')));
    unsigned long long seed = 0;
    if (fields >> seed) seeds.push_back(seed);
  }
  size_t next = 0;
  const RunSummary summary = RunSeeds(
      [&]() -> std::optional<uint64_t> {
        if (next == seeds.size()) return std::nullopt;
        return seeds[next++];
      },
      static_cast<int>(EnvNumber("CREATIFY_CHECKER_JOBS").value_or(3)));
  std::fprintf(stderr, "checker: %d regression seeds replayed, failing: %s\n", summary.sequences,
               Seeds(summary.failed).c_str());
  CHECK_MESSAGE(summary.failed.empty(), "failing regression seeds: ", Seeds(summary.failed));
}

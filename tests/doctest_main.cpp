#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>

#include "support/failure_logs.h"

namespace {

// When a test case fails, prints the logs of the processes it started (the exporter's and the
// simulator's): CTest shows a failing test's output, and the logs themselves are deleted with
// the test's temporary directory.
class FailureLogPrinter : public doctest::IReporter {
 public:
  explicit FailureLogPrinter(const doctest::ContextOptions& /*options*/) {}
  void report_query(const doctest::QueryData& /*data*/) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& /*stats*/) override {}
  void test_case_start(const doctest::TestCaseData& /*data*/) override {
    testsupport::FailureLogs::Get().Take();
  }
  void test_case_reenter(const doctest::TestCaseData& /*data*/) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    auto logs = testsupport::FailureLogs::Get().Take();
    if (stats.failure_flags == 0) return;
    for (const auto& [what, log] : logs) {
      std::fprintf(stderr, "----- %s (the test failed; its end) -----\n%s\n----- end of %s -----\n",
                   what.c_str(), log.c_str(), what.c_str());
    }
  }
  void test_case_exception(const doctest::TestCaseException& /*exception*/) override {}
  void subcase_start(const doctest::SubcaseSignature& /*signature*/) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& /*data*/) override {}
  void log_message(const doctest::MessageData& /*data*/) override {}
  void test_case_skipped(const doctest::TestCaseData& /*data*/) override {}
};

REGISTER_LISTENER("failure-logs", 1, FailureLogPrinter);

}  // namespace

// A test client that writes to a server which has already closed the connection (a body cut off
// at its limit) gets EPIPE, as the exporter does, instead of dying of SIGPIPE.
int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return doctest::Context(argc, argv).run();
}

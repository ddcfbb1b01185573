#!/usr/bin/env bash
# The concurrency tests under ThreadSanitizer, in their own build (build-tsan) of only what they
# need: the HTTP server and its password checks, the poller and its schedule, overlapping
# reloads, the store, the state writer, basic auth, the webhook forwarder, and the end-to-end
# tests (whose exporter and simulator are built with TSan too). A data race fails the test that
# ran into it, in the test binary or in a process it started.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-tsan}
tests=(http_server_test server_test auth_test poller_test poller_schedule_test coalescer_test
  state_test persist_test webconfig_test webhook_test e2e_exporter_simulator e2e_web_config
  e2e_forwarding)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREATIFY_TSAN=ON -DBUILD_TESTING=ON \
  ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${tests[@]}" creatify-exporter creatify-simulator
# Child processes inherit the options: a race in the exporter ends it with exit code 66.
# tests/tsan.supp says which reports come from Debian's uninstrumented cpp-httplib.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
# Everything runs several times slower under TSan: the tests wait longer for what they wait for
# (and give the API more time), without changing what they check.
export CREATIFY_TEST_TIME_SCALE=${CREATIFY_TEST_TIME_SCALE:-3}
regex="^($(IFS='|'; echo "${tests[*]}"))/"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R "$regex"

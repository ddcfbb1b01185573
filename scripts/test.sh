#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds everything with the tests, runs
# CTest (unit, end-to-end, Prometheus, Grafana, Kubernetes and container checks).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-test}
scripts/install-deps.sh
# Warnings are errors: the build is warning-free on Debian 12's GCC, and must stay so.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREATIFY_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
status=0
# shellcheck disable=SC2086 # CTEST_ARGS is a list of arguments.
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-} || status=$?
# A skipped test says why on a line of its own; CTest shows only the failures' output.
skipped=$(grep -h '^SKIPPED: ' "$build/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u || true)
if [[ -n $skipped ]]; then
  echo "Skipped, and why:"
  sed 's/^/  /' <<<"$skipped"
fi
exit "$status"

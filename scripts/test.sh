#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds everything with the tests, runs
# CTest (unit, end-to-end, Prometheus, Grafana, Kubernetes and container checks).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-test}
scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
# shellcheck disable=SC2086 # CTEST_ARGS is a list of arguments.
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-}

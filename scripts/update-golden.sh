#!/usr/bin/env bash
# Rewrites the golden expositions under tests/golden/ from the current code. Review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-test}
cmake --build "$build" --target collect_test -j"$(nproc)"
CREATIFY_UPDATE_GOLDEN=1 "$build/tests/collect/collect_test"
git diff --stat -- tests/golden

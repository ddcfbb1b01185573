#!/usr/bin/env bash
# Installs what the build needs and builds the two programs, creatify-exporter and
# creatify-simulator, into build/ (Release). The test suite is not compiled: scripts/test.sh
# does that.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target creatify-exporter creatify-simulator

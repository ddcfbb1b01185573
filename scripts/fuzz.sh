#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan and UBSan on) in build-fuzz, then
# runs each for SECONDS (default 45) from its seed corpus tests/fuzz/<target>/. New inputs go to
# a scratch folder. A crash, leak, timeout or undefined behaviour stops that target, keeps the
# input as build-fuzz/<target>-crash-* (or -leak-, -timeout-), and makes the script exit 1: copy
# the input into tests/fuzz/<target>/ and the test suite replays it from then on.
#   scripts/fuzz.sh [SECONDS [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-45}
shift || true
build=${BUILD_DIR:-build-fuzz}
if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for source in tests/fuzz/*.cpp; do
    name=$(basename "$source" .cpp)
    [[ $name == replay_main ]] || targets+=("$name")
  done
fi

command -v clang++ >/dev/null || { echo "clang++ is missing: scripts/install-ci-tools.sh installs it" >&2; exit 1; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DBUILD_TESTING=OFF -DCREATIFY_FUZZ=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for target in "${targets[@]}"; do
  scratch=$(mktemp -d)
  log="$build/fuzz-$target.log"
  # A target's dictionary of tokens (tests/fuzz/<target>.dict), when it has one.
  dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
  # libFuzzer can hang while reporting a timeout: the outer timeout ends it all the same.
  if timeout -k 10 $((seconds + 120)) "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    "${dict[@]}" -print_final_stats=1 -artifact_prefix="$build/$target-" "$scratch" "tests/fuzz/$target" >"$log" 2>&1; then
    echo "fuzz $target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') inputs in ${seconds} s, no crash"
  else
    status=1
    echo "fuzz $target FAILED; the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
  fi
  rm -rf "$scratch"
done
exit "$status"

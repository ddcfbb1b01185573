#!/bin/sh
# Runs the counting checker (tests/checker) on random seeds for a while, e.g.
#   scripts/checker-long.sh 30m          # 30 minutes, 3 sequences side by side
#   scripts/checker-long.sh 2h 4         # 2 hours, 4 side by side
# and prints the number of sequences and operations tried and every failing seed, each with its
# report (operations, model/exporter diff, the exporter's log). Replay one with
#   CREATIFY_CHECKER_SEED=<seed> build/tests/checker/checker_test -tc='checker: random*'
# BUILD_DIR (default: build) must hold a build of creatify-exporter and checker_test.
set -eu

usage() {
  echo "usage: $0 DURATION [JOBS]   (DURATION: 90s, 30m, 2h)" >&2
  exit 2
}
[ $# -ge 1 ] || usage
case "$1" in
  *h) seconds=$(( ${1%h} * 3600 )) ;;
  *m) seconds=$(( ${1%m} * 60 )) ;;
  *s) seconds=${1%s} ;;
  *[!0-9]*) usage ;;
  *) seconds=$1 ;;
esac
jobs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
binary=$build/tests/checker/checker_test
[ -x "$binary" ] && [ -x "$build/creatify-exporter" ] || {
  echo "$0: build first: cmake --build $build --target creatify-exporter checker_test" >&2
  exit 2
}
base=${CREATIFY_CHECKER_BASE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
log=$(mktemp /tmp/checker-long.XXXXXX)
echo "checker-long: ${seconds}s, $jobs side by side, base seed $base; full output in $log"
status=0
CREATIFY_CHECKER_BASE_SEED=$base CREATIFY_CHECKER_SECONDS=$seconds CREATIFY_CHECKER_JOBS=$jobs \
  "$binary" -tc='checker: random*' >"$log" 2>&1 || status=$?
grep -E '^checker: (sequence FAILED|[0-9]+ sequences)' "$log" || true
exit "$status"

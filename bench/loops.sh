#!/usr/bin/env bash
# S2's plain /metrics p99 of two exporter binaries (a baseline and this build), each tracking the
# same 10,000 simulator jobs, scraped by wrk with 16 connections, with the CPUs pinned (taskset)
# in two layouts: the exporter on CPUs 0-1 and wrk on CPU 1, and the exporter on CPU 0 and wrk on
# CPU 1. The simulator runs on CPU 1 at the lowest priority and is idle (poll_interval 1h). RUNS
# runs of each binary in each layout, alternating; prints a Markdown section for BENCHMARKS.md.
#
#   BASELINE=/path/to/old/creatify-exporter bench/loops.sh      JOBS=3334 RUNS=3 SECONDS_EACH=10
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
: "${BASELINE:?BASELINE=the baseline exporter binary}"

jobs=${JOBS:-3334}
runs=${RUNS:-3}
seconds=${SECONDS_EACH:-10}
simulator=${SIMULATOR:-build/creatify-simulator}
current=${EXPORTER:-build/creatify-exporter}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/lib.sh

start_simulator 1h
sim=$(pgrep -f "creatify-simulator.*$work" | head -1)
taskset -a -p -c 1 "$sim" >/dev/null
renice -n 19 -p "$sim" >/dev/null
# No state file: every run starts from the API alone.
printf 'state:\n  path: ""\nmax_tracked_jobs: 1000000\n' >>"$work/exporter.yaml"

# p99 and scrapes/s of one run: exporter binary, its CPUs, wrk's CPUs.
measure() {
  CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key taskset -c "$2" "$1" \
    --config.file="$work/exporter.yaml" --web.listen-address=127.0.0.1:0 \
    2>"$work/exporter.log" &
  local exp=$! eport url out
  eport=$(port_of "$work/exporter.log")
  url="http://127.0.0.1:$eport/metrics"
  until [ "$(curl -s "$url" | grep -c '^creatify_job_status{' || true)" -ge $((jobs * 3 * 7)) ]; do
    sleep 0.5
  done
  out=$(taskset -c "$3" wrk -t2 -c16 -d"${seconds}s" --timeout 30s --latency "$url")
  echo "$(awk '$1 == "99%" {print $2}' <<<"$out") $(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  kill "$exp"
  wait "$exp" 2>/dev/null || true
}

# wrk prints 1.30s, 850.00ms, 900us: milliseconds.
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.0f", v}' <<<"$1"; }
median() { tr ' ' '\n' <<<"$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "## Event loops: S2 plain p99, before and after balancing"
echo
echo "\`BASELINE=... bench/loops.sh\` on $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ): $((jobs * 3)) jobs,"
echo "\`wrk -t2 -c16 -d${seconds}s\`, $runs runs of each binary in each layout, alternating. Baseline: \`$BASELINE\`."
echo
echo "| layout | binary | p99 ms (runs) | median p99 | scrapes/s (runs) | median scrapes/s |"
echo "|---|---|---|---|---|---|"
for layout in "0-1:1" "0:1"; do
  ecpu=${layout%%:*}; wcpu=${layout##*:}
  declare -A p99=() rps=()
  for _ in $(seq "$runs"); do
    for which in baseline current; do
      bin=$BASELINE; [ "$which" = current ] && bin=$current
      read -r p r <<<"$(measure "$bin" "$ecpu" "$wcpu")"
      p99[$which]+="$(ms "$p") "
      rps[$which]+="$r "
    done
  done
  for which in baseline current; do
    echo "| exporter CPU $ecpu, wrk CPU $wcpu | $which | ${p99[$which]% } | $(median "${p99[$which]% }") | ${rps[$which]% } | $(median "${rps[$which]% }") |"
  done
done

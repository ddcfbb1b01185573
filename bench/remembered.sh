#!/usr/bin/env bash
# Resident memory per remembered finished id: an exporter whose Aurora list holds N jobs that
# finished before it started (so none is counted), with max_tracked_jobs 1 so that all but one
# are only remembered, against an exporter with no jobs, after three plain and three gzip
# scrapes each. Prints the figure for BENCHMARKS.md.
#
#   bench/remembered.sh [N]          (default 100000; EXPORTER=, SIMULATOR= to pick binaries)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
exporter=${EXPORTER:-build/creatify-exporter}
simulator=${SIMULATOR:-build/creatify-simulator}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh

"$simulator" --listen-address=127.0.0.1:0 --api-id=a --api-key=b --aurora-jobs="$n" \
  --ads-clone-jobs=0 --custom-template-jobs=0 --stage-duration=10ms \
  --write-exporter-config="$work/full.yaml" --exporter-poll-interval=2s 2>"$work/simulator.log" &
pids+=($!)
sim_port=$(port_of "$work/simulator.log")
# Every job finished: 3 stages of 10 ms, with room to spare.
unfinished() {
  curl -fsS "http://127.0.0.1:$sim_port/sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)["kinds"]["aurora"]["status"]
print(sum(s.get(k, 0) for k in ("pending", "in_queue", "running")))'
}
until [[ $(unfinished) == 0 ]]; do sleep 0.5; done
sed -i 's|^api:|api:\n  max_body_bytes: 1073741824|' "$work/full.yaml"
printf 'state:\n  path: ""\nmax_tracked_jobs: 1\nper_job_metrics: false\n' >>"$work/full.yaml"
printf 'api:\n  base_url: http://127.0.0.1:1\nstate:\n  path: ""\nper_job_metrics: false\npoll_interval: 1h\n' >"$work/idle.yaml"

start() {
  CREATIFY_API_ID=a CREATIFY_API_KEY=b "$exporter" --config.file="$work/$1.yaml" \
    --web.listen-address=127.0.0.1:0 2>"$work/$1.log" &
  pids+=($!)
}
start full
full_pid=$!
start idle
idle_pid=$!
full_port=$(port_of "$work/full.log")
idle_port=$(port_of "$work/idle.log")
until curl -fsS "http://127.0.0.1:$full_port/metrics" |
  grep -q "^creatify_exporter_remembered_jobs{kind=\"aurora\"} $((n - 1))\$"; do
  sleep 0.5
done
for port in "$full_port" "$idle_port"; do
  for _ in 1 2 3; do
    curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null
    curl -fsS -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" >/dev/null
  done
done
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }
full=$(rss "$full_pid")
idle=$(rss "$idle_pid")
echo "remembered ids: $((n - 1)); VmRSS $full B vs $idle B with no jobs:" \
  "$(((full - idle) / (n - 1))) bytes per remembered id"

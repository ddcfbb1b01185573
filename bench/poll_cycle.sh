#!/usr/bin/env bash
# Mean duration of a poll cycle against the local simulator, for one or more exporter binaries,
# each against a fresh simulator with the same seed and jobs. The first binary is the baseline;
# the others are reported as ratios to it.
#
#   bench/poll_cycle.sh [EXPORTER...]          (default: build/creatify-exporter)
#   JOBS=200 CYCLES=30 bench/poll_cycle.sh /tmp/old/creatify-exporter build/creatify-exporter
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-200}
cycles=${CYCLES:-30}
simulator=${SIMULATOR:-build/creatify-simulator}
[ $# -gt 0 ] || set -- build/creatify-exporter
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

. bench/lib.sh

baseline=""
for exporter in "$@"; do
  rm -f "$work"/*
  start_simulator 100ms
  sim=$!
  CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key "$exporter" \
    --config.file="$work/exporter.yaml" --web.listen-address=127.0.0.1:0 2>"$work/exporter.log" &
  exp=$!
  eport=$(port_of "$work/exporter.log")
  count=0
  until [ "$count" -ge "$cycles" ]; do
    sleep 0.2
    count=$(curl -s "127.0.0.1:$eport/metrics" |
      awk '/^creatify_exporter_poll_duration_seconds_count/ {print $2}')
    count=${count:-0}
  done
  metrics=$(curl -s "127.0.0.1:$eport/metrics")
  sum=$(awk '/^creatify_exporter_poll_duration_seconds_sum/ {print $2}' <<<"$metrics")
  count=$(awk '/^creatify_exporter_poll_duration_seconds_count/ {print $2}' <<<"$metrics")
  requests=$(awk '/^creatify_exporter_api_requests_total/ {s += $2} END {print s}' <<<"$metrics")
  mean=$(awk -v s="$sum" -v c="$count" 'BEGIN {printf "%.4f", s / c}')
  line="$exporter: $count cycles, $((requests / count)) requests each, mean $mean s"
  if [ -z "$baseline" ]; then
    baseline=$mean
    echo "$line (baseline)"
  else
    echo "$line, $(awk -v m="$mean" -v b="$baseline" 'BEGIN {printf "%.2f", m / b}') x baseline"
  fi
  kill "$exp" "$sim"
  wait "$exp" "$sim" 2>/dev/null || true
done

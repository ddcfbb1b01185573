#!/usr/bin/env bash
# /metrics throughput and latency of one or more exporter binaries, each tracking the same
# simulator jobs, measured with wrk over kept-alive connections. The first binary is the
# baseline; the others are reported as ratios to it.
#
#   bench/scrape.sh [EXPORTER...]              (default: build/creatify-exporter)
#   JOBS=1000 CONNECTIONS=4 SECONDS_EACH=5 bench/scrape.sh /tmp/old/creatify-exporter build/creatify-exporter
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

jobs=${JOBS:-300}
connections=${CONNECTIONS:-1}
seconds=${SECONDS_EACH:-5}
simulator=${SIMULATOR:-build/creatify-simulator}
[ $# -gt 0 ] || set -- build/creatify-exporter
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

. bench/lib.sh

start_simulator 1h

baseline=""
for exporter in "$@"; do
  CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key "$exporter" \
    --config.file="$work/exporter.yaml" --web.listen-address=127.0.0.1:0 2>"$work/exporter.log" &
  exp=$!
  eport=$(port_of "$work/exporter.log")
  until curl -sf "127.0.0.1:$eport/-/ready" >/dev/null; do sleep 0.1; done
  bytes=$(curl -s "127.0.0.1:$eport/metrics" | wc -c)
  out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$eport/metrics")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  line="$exporter: $bytes bytes, $rps scrapes/s, p50 $p50"
  if [ -z "$baseline" ]; then
    baseline=$rps
    echo "$line (baseline)"
  else
    echo "$line, $(awk -v r="$rps" -v b="$baseline" 'BEGIN {printf "%.2f", r / b}') x baseline throughput"
  fi
  kill "$exp"
  wait "$exp" 2>/dev/null || true
  rm -f "$work/exporter.log"
done

#!/usr/bin/env bash
# The two formats of /metrics on the same state, and the memory per tracked job: one exporter
# tracking JOBS jobs of each of three kinds (S2 of bench/run.sh by default: 3334 each), scraped by
# wrk as the text format and as OpenMetrics (Prometheus' Accept header), plain and gzip, in
# alternating runs (RUNS of each), the exporter on CPU 0 and wrk on CPU 1 (taskset). Prints a
# Markdown section for BENCHMARKS.md; with RUNS=0, only the memory line (bench/memory.sh).
#
#   bench/openmetrics.sh                     JOBS=3334 RUNS=3 SECONDS_EACH=5 CONNECTIONS=16
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

jobs=${JOBS:-3334}
runs=${RUNS:-3}
seconds=${SECONDS_EACH:-5}
connections=${CONNECTIONS:-16}
simulator=${SIMULATOR:-build/creatify-simulator}
exporter=${EXPORTER:-build/creatify-exporter}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/lib.sh

om='Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# An exporter with no jobs: the resident baseline.
jobs=0 start_simulator 1h
printf 'state:\n  path: ""\nmax_tracked_jobs: 1000000\n' >>"$work/exporter.yaml"
CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key taskset -c 0 "$exporter" \
  --config.file="$work/exporter.yaml" --web.listen-address=127.0.0.1:0 2>"$work/empty.log" &
empty=$!
eport=$(port_of "$work/empty.log")
until curl -sf "127.0.0.1:$eport/-/ready" >/dev/null; do sleep 0.1; done
for _ in 1 2 3; do
  curl -s "127.0.0.1:$eport/metrics" >/dev/null
  curl -s -H 'Accept-Encoding: gzip' "127.0.0.1:$eport/metrics" >/dev/null
  curl -s -H "$om" "127.0.0.1:$eport/metrics" >/dev/null
done
base_rss=$(rss_kib "$empty")
kill "$empty" "$(pgrep -f "creatify-simulator.*$work" | head -1)" 2>/dev/null || true
wait 2>/dev/null || true
rm -f "$work/simulator.log"

start_simulator 1h
# No state file: the run starts from the API alone.
printf 'state:\n  path: ""\nmax_tracked_jobs: 1000000\n' >>"$work/exporter.yaml"
CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key taskset -c 0 "$exporter" \
  --config.file="$work/exporter.yaml" --web.listen-address=127.0.0.1:0 2>"$work/exporter.log" &
exp=$!
eport=$(port_of "$work/exporter.log")
url="http://127.0.0.1:$eport/metrics"
until [ "$(curl -s "$url" | grep -c '^creatify_job_status{' || true)" -ge $((jobs * 3 * 7)) ]; do
  sleep 0.5
done
text_bytes=$(curl -s "$url" | wc -c)
om_bytes=$(curl -s -H "$om" "$url" | wc -c)
text_gz=$(curl -s -H 'Accept-Encoding: gzip' "$url" | wc -c)
om_gz=$(curl -s -H 'Accept-Encoding: gzip' -H "$om" "$url" | wc -c)
for _ in 1 2 3; do
  curl -s "$url" >/dev/null
  curl -s -H 'Accept-Encoding: gzip' "$url" >/dev/null
  curl -s -H "$om" "$url" >/dev/null
  curl -s -H 'Accept-Encoding: gzip' -H "$om" "$url" >/dev/null
done
rss=$(rss_kib "$exp")

run() {  # label, extra wrk args...
  local out
  out=$(taskset -c 1 wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s --latency "${@:2}" "$url")
  echo "$1 $(awk '/^Requests\/sec/ {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out")"
}
: >"$work/runs"
for _ in $(seq "$runs"); do
  run text-plain >>"$work/runs"
  run om-plain -H "$om" >>"$work/runs"
  run text-gzip -H 'Accept-Encoding: gzip' >>"$work/runs"
  run om-gzip -H 'Accept-Encoding: gzip' -H "$om" >>"$work/runs"
done
median() { grep "^$1 " "$work/runs" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
all() { grep "^$1 " "$work/runs" | awk '{printf "%s%s", sep, $2; sep=", "}'; }
p99s() { grep "^$1 " "$work/runs" | awk '{printf "%s%s", sep, $3; sep=", "}'; }

per_job=$(awk -v r="$rss" -v b="$base_rss" -v p="$text_bytes" -v g="$text_gz" -v j=$((jobs * 3)) \
  'BEGIN {printf "%.0f", (r * 1024 - b * 1024 - p - g) / j}')
memory_line() {
  echo "Resident memory per tracked job: (VmRSS $((rss / 1024)) MiB - VmRSS with no jobs $((base_rss / 1024)) MiB"
  echo "- plain body $((text_bytes / 1024)) KiB - gzip body $((text_gz / 1024)) KiB) / $((jobs * 3)) jobs = **$per_job bytes/job**,"
  echo "after 3 scrapes of each of the four bodies."
}
if [ "$runs" -eq 0 ]; then
  memory_line
  exit 0
fi

echo "## OpenMetrics and the text format on the same state"
echo
echo "\`bench/openmetrics.sh\` on $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ): $((jobs * 3)) unfinished jobs"
echo "(S2), the exporter pinned to CPU 0 and wrk (\`-t2 -c$connections -d${seconds}s\`) to CPU 1; $runs runs of each,"
echo "alternating; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "| body | bytes | scrapes/s (runs) | median | vs the text format | p99 (runs) |"
echo "|---|---|---|---|---|---|"
for pair in "plain:$text_bytes:$om_bytes" "gzip:$text_gz:$om_gz"; do
  IFS=: read -r kind tb ob <<<"$pair"
  t=$(median "text-$kind"); o=$(median "om-$kind")
  echo "| text, $kind | $tb | $(all "text-$kind") | $t | 1.00x | $(p99s "text-$kind") |"
  echo "| OpenMetrics, $kind | $ob | $(all "om-$kind") | $o | $(awk -v o="$o" -v t="$t" 'BEGIN {printf "%.2fx", o / t}') | $(p99s "om-$kind") |"
done
echo
memory_line

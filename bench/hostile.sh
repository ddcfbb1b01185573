#!/usr/bin/env bash
# Hostile clients side by side with node_exporter (Debian's prometheus-node-exporter, same web
# config, same machine, same run): slowhttptest's slow headers (-H, slowloris), slow body (-B) and
# slow read (-X, with a tiny receive window) with 1,000 connections each, while a scraper measures
# its /metrics latency; then testssl.sh's rating of both over TLS (the test certificates of
# tests/testdata/tls). Prints one line per server and attack.
#
#   bench/hostile.sh [SECONDS]     (default 30 per attack; EXPORTER=, NODE_EXPORTER=; TESTSSL=0 skips
#                                  testssl, SLOW=0 slowhttptest)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
exporter=${EXPORTER:-build/creatify-exporter}
node_exporter=${NODE_EXPORTER:-prometheus-node-exporter}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
for tool in "$node_exporter" slowhttptest; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
ulimit -n 8192 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 100); do
    curl -sk -o /dev/null "$1" && return
    sleep 0.1
  done
  echo "$1 does not answer" >&2
  exit 1
}
# Starts both servers with web config $1 ("" for none); sets ours and node.
start_both() {
  local flag=() scheme=http
  [[ -n $1 ]] && flag=(--web.config.file="$1") && scheme=https
  printf 'api:\n  base_url: http://127.0.0.1:1\nstate:\n  path: ""\npoll_interval: 1h\n' >"$work/exporter.yaml"
  CREATIFY_API_ID=a CREATIFY_API_KEY=b "$exporter" --config.file="$work/exporter.yaml" \
    "${flag[@]}" --web.listen-address=127.0.0.1:0 2>"$work/exporter.log" &
  pids+=($!)
  ours=$(port_of "$work/exporter.log")
  node=$(free_port)
  "$node_exporter" "${flag[@]}" --web.listen-address="127.0.0.1:$node" --collector.disable-defaults \
    --collector.loadavg 2>"$work/node_exporter.log" &
  pids+=($!)
  wait_http "$scheme://127.0.0.1:$node/"
  wait_http "$scheme://127.0.0.1:$ours/"
}
stop_both() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}

# Median and max of a scrape every 0.2 s for $1 seconds, in ms.
probe() {
  python3 - "$1" "$2" <<'PY'
import statistics, sys, time, urllib.request
port, seconds = int(sys.argv[1]), float(sys.argv[2])
samples, failed, end = [], 0, time.monotonic() + seconds
while time.monotonic() < end:
    start = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        samples.append((time.monotonic() - start) * 1000)
    except Exception:
        failed += 1
    time.sleep(0.2)
print(f"median {statistics.median(samples):.2f} ms, max {max(samples):.2f} ms, failed {failed}"
      if samples else f"no answer ({failed} failed)")
PY
}

echo "# $(nproc) cores; $("$node_exporter" --version 2>&1 | head -1); creatify-exporter $(git rev-parse --short HEAD); $seconds s per attack, 1000 connections"
start_both ""
servers=(node_exporter creatify-exporter)
[[ ${SLOW:-1} == 0 ]] && servers=()
for server in "${servers[@]}"; do
  port=$node
  [[ $server == creatify-exporter ]] && port=$ours
  echo "$server idle: $(probe "$port" 5)"
  for mode in -H -B -X; do
    extra=()
    [[ $mode == -X ]] && extra=(-w 1 -y 2 -n 5 -z 1 -k 3)
    [[ $mode == -B ]] && extra=(-t POST)
    slowhttptest "$mode" -c 1000 -r 200 -i 5 -l "$seconds" -u "http://127.0.0.1:$port/metrics" \
      "${extra[@]}" >"$work/slow$mode.log" 2>&1 &
    slow=$!
    sleep 6  # the connections are open
    result=$(probe "$port" $((seconds - 8)))
    wait "$slow" || true
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$work/slow$mode.log")
    open=$(grep -o 'connected: *[0-9]*' <<<"$plain" | awk '{print $2}' | sort -n | tail -1)
    down=$(grep -c 'service available: *NO' <<<"$plain" || true)
    echo "$server slowhttptest $mode: scrapes $result; at most ${open:-?} slow connections open at once; slowhttptest's probe found the service unavailable $down times"
  done
done
stop_both

if [[ ${TESTSSL:-1} != 0 ]] && command -v testssl >/dev/null; then
  sed 's|\.\./tls/|'"$PWD"'/tests/testdata/tls/|' tests/testdata/webconfig/tls.yaml >"$work/tls.yml"
  start_both "$work/tls.yml"
  for server in node_exporter creatify-exporter; do
    port=$node
    [[ $server == creatify-exporter ]] && port=$ours
    # Debian 12's testssl.sh (3.0.8) gives no grade: its findings are counted by severity, and
    # those above LOW are named.
    testssl --quiet --color 0 --warnings off --ip 127.0.0.1 --jsonfile "$work/testssl-$server.json" \
      "https://127.0.0.1:$port/" >"$work/testssl-$server.log" 2>&1 || true
    python3 - "$work/testssl-$server.json" "$server" <<'PY'
import collections, json, sys
findings = json.load(open(sys.argv[1]))
by = collections.Counter(f["severity"] for f in findings)
worse = sorted(f["id"] for f in findings if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL"))
print(f"{sys.argv[2]} testssl: " + ", ".join(f"{k} {by[k]}" for k in
      ("OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN") if by[k]) +
      f"; above LOW: {', '.join(worse) or 'none'}")
PY
  done
  stop_both
fi

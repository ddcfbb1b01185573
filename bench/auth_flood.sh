#!/usr/bin/env bash
# Basic auth under a flood, side by side with node_exporter (Debian's prometheus-node-exporter,
# the same web config file): the latency of scrapes whose credentials were let in before, idle
# and while 120 clients send wrong passwords (bcrypt cost 10, the shipped example's hash), once
# from one address and once from 120. Prints one JSON line per server and flood (bench/auth_flood.py).
#
#   bench/auth_flood.sh            (EXPORTER=, NODE_EXPORTER= to pick binaries; CLIENTS=120)
set -euo pipefail
cd "$(dirname "$0")/.."
exporter=${EXPORTER:-build/creatify-exporter}
node_exporter=${NODE_EXPORTER:-prometheus-node-exporter}
clients=${CLIENTS:-120}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
command -v "$node_exporter" >/dev/null || { echo "$node_exporter is missing (apt-get install prometheus-node-exporter)" >&2; exit 1; }

grep -v '^#' config/web-config.example.yaml >"$work/web.yml"
printf 'api:\n  base_url: http://127.0.0.1:1\nstate:\n  path: ""\npoll_interval: 1h\n' >"$work/exporter.yaml"
CREATIFY_API_ID=a CREATIFY_API_KEY=b "$exporter" --config.file="$work/exporter.yaml" \
  --web.config.file="$work/web.yml" --web.listen-address=127.0.0.1:0 2>"$work/exporter.log" &
pids+=($!)
ours=$(port_of "$work/exporter.log")
# A free port for node_exporter (it logs its address, not a port it chose).
node_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Its smallest /metrics: the flood, not the collectors, is measured.
"$node_exporter" --web.config.file="$work/web.yml" --web.listen-address="127.0.0.1:$node_port" \
  --collector.disable-defaults --collector.loadavg 2>"$work/node_exporter.log" &
pids+=($!)
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$node_port/" && break
  sleep 0.1
done

echo "# $(nproc) cores; $("$node_exporter" --version 2>&1 | head -1); creatify-exporter $(git rev-parse --short HEAD)"
for distinct in "" --distinct-addresses; do
  echo "node_exporter: $(python3 bench/auth_flood.py --port "$node_port" --clients "$clients" $distinct)"
  echo "creatify-exporter: $(python3 bench/auth_flood.py --port "$ours" --clients "$clients" $distinct)"
done

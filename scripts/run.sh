#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs creatify-exporter on :10487.
#
# With no account configured it runs against the bundled Creatify simulator, whose jobs move
# from pending to done, failed or rejected within a few minutes. With CREATIFY_API_ID and
# CREATIFY_API_KEY in the environment and a config file at config/creatify-exporter.yaml (or
# CREATIFY_CONFIG=path), it runs against the real API instead.
#
# Ctrl-C, or SIGTERM to this script, stops the exporter and the simulator. EXPORTER_PORT
# (default 10487) and SIMULATOR_PORT (default 18787) move them to other ports.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh

port=${EXPORTER_PORT:-10487}
sim_port=${SIMULATOR_PORT:-18787}
config=${CREATIFY_CONFIG:-config/creatify-exporter.yaml}
if [[ -n ${CREATIFY_API_ID:-} && -n ${CREATIFY_API_KEY:-} && -f $config ]]; then
  echo "Running against the Creatify API with $config: curl localhost:$port/metrics" >&2
  exec build/creatify-exporter --config.file="$config" --web.listen-address=":$port"
fi

demo=build/demo
mkdir -p "$demo"
# The simulator starts a new world each time: so does the demo exporter's state.
rm -f "$demo/exporter.yaml" "$demo"/state.db*

# Both programs run in the background and the script waits for them: bash runs a trap only
# between commands, so a program in the foreground would keep a SIGTERM to the script waiting.
children=()
stop() {
  trap - INT TERM EXIT
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# New ad clones appear every 30 s that the config never names: the simulator announces each one
# to the exporter's webhook receiver when it finishes (twice, as Creatify may), the way Creatify
# calls a job's webhook_url.
token=demo-webhook-token-$RANDOM$RANDOM$RANDOM
build/creatify-simulator --listen-address="127.0.0.1:$sim_port" --api-id=demo-id --api-key=demo-key \
  --ads-clone-jobs=5 --custom-template-jobs=5 --aurora-jobs=5 --aurora-spawn-interval=45s \
  --spawn-interval=ads_clone=30s --stage-duration=20s \
  --webhook-url="http://127.0.0.1:$port/webhook/{kind}/$token" --webhook-kinds=ads_clone \
  --webhook-calls=2 --exporter-webhook-token="$token" \
  --write-exporter-config="$demo/exporter.yaml" --exporter-state-path="$demo/state.db" \
  --exporter-poll-interval=5s 2>"$demo/simulator.log" &
children+=($!)
for _ in $(seq 100); do
  [[ -f $demo/exporter.yaml ]] && break
  kill -0 "${children[0]}" 2>/dev/null || { cat "$demo/simulator.log" >&2; exit 1; }
  sleep 0.1
done

cat >&2 <<TXT

creatify-exporter is starting against the Creatify simulator (http://127.0.0.1:$sim_port).
  Metrics:      curl -s localhost:$port/metrics | grep -E '^creatify_(jobs|up|remaining)'
  Landing page: http://localhost:$port/
  Ground truth: curl -s localhost:$sim_port/sim/state
  Webhooks:     curl -s localhost:$port/metrics | grep webhook_requests_total
                (new ad clones reach /metrics by webhook only: the config names the first five)
Stop with Ctrl-C.

TXT
CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key \
  build/creatify-exporter --config.file="$demo/exporter.yaml" --web.listen-address=":$port" &
children+=($!)
# Returns when either program ends (or a signal arrives): then the other is stopped too.
set +e
wait -n "${children[@]}"
status=$?
set -e
exit "$status"

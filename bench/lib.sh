# Shared by the bench scripts: sourced, not run.
# shellcheck shell=bash disable=SC2154  # simulator, jobs and work are the caller's

# The port of the "msg=Listening address=HOST:PORT" line a program logs once it has bound.
port_of() {
  for _ in $(seq 200); do
    local p
    p=$(grep -o 'msg=Listening address=[^ ]*' "$1" 2>/dev/null | sed 's/.*://') || true
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.05
  done
  echo "no Listening line in $1" >&2
  exit 1
}

# Starts the simulator with JOBS jobs of each kind that never finish, writing an exporter config
# with the given poll interval to $work/exporter.yaml; waits until it listens.
start_simulator() {
  "$simulator" --listen-address=127.0.0.1:0 --seed=1 --ads-clone-jobs="$jobs" \
    --custom-template-jobs="$jobs" --aurora-jobs="$jobs" --stage-duration=24h \
    --write-exporter-config="$work/exporter.yaml" --exporter-poll-interval="$1" \
    2>"$work/simulator.log" &
  port_of "$work/simulator.log" >/dev/null
}

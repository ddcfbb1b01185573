#!/usr/bin/env bash
# Tries the README's first command as a new user would: starts scripts/run.sh, waits until the
# exporter serves the simulator's jobs, then stops the script with SIGTERM and checks that the
# exporter and the simulator are gone. Ports are chosen at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-60000 -n 1
}
export EXPORTER_PORT=${EXPORTER_PORT:-$(free_port)}
export SIMULATOR_PORT=${SIMULATOR_PORT:-$(free_port)}
log=$(mktemp)
# Its own process group, so that nothing it started can outlive the check.
setsid scripts/run.sh >"$log" 2>&1 &
script=$!
cleanup() { kill -KILL -- "-$script" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

fail() {
  echo "quickstart-check: $*" >&2
  tail -n 40 "$log" >&2
  exit 1
}

# The first run builds: allow for it.
deadline=$((SECONDS + 1200))
until body=$(curl -fsS "http://127.0.0.1:$EXPORTER_PORT/metrics" 2>/dev/null) &&
  grep -q '^creatify_up 1' <<<"$body" &&
  grep -Eq '^creatify_jobs\{kind="aurora",status="[a-z_]+"\} [1-9]' <<<"$body"; do
  kill -0 "$script" 2>/dev/null || fail "scripts/run.sh exited before serving jobs"
  ((SECONDS < deadline)) || fail "no jobs on /metrics after 20 minutes"
  sleep 1
done
echo "quickstart-check: /metrics serves the simulator's jobs on :$EXPORTER_PORT"

# The programs in the script's process group (without procps, which a fresh machine lacks).
group_programs() {
  local stat
  for stat in /proc/[0-9]*/stat; do
    read -r pid comm _ _ pgrp _ <"$stat" 2>/dev/null || continue
    [[ $pgrp == "$script" && $comm == "(creatify-"* ]] && echo "$pid"
  done
  return 0
}
pids=$(group_programs)
[[ -n $pids ]] || fail "cannot find the exporter and the simulator"
kill -TERM "$script"
deadline=$((SECONDS + 10))
for pid in $pids "$script"; do
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "process $pid still runs 10 s after SIGTERM to run.sh"
    sleep 0.1
  done
done
echo "quickstart-check: SIGTERM to scripts/run.sh stopped the exporter and the simulator"

#!/usr/bin/env bash
# The benchmark harness: drives the simulator and the exporter through three scenarios, measures
# /metrics side by side with nginx serving the very same bytes, the poll cycle against its ideal,
# memory and CPU, and writes BENCHMARKS.md at the repository root. Everything runs on 127.0.0.1
# with ports picked at run time; every process it starts is stopped when it ends, however it ends.
#
#   bench/run.sh [--quick]
#   EXPORTER=build/creatify-exporter SIMULATOR=build/creatify-simulator bench/run.sh
#   BASELINE=/tmp/base/build/creatify-exporter bench/run.sh   (an older binary, same run, ratios)
#   OUT=/tmp/quick.md bench/run.sh --quick                     (smaller and shorter: a smoke check)
#
# Scenarios (every simulator job is held pending, so every tracked job stays unfinished):
#   S1  1,000 jobs: a third ads_clone and a third custom_template read by id, a third aurora
#       read from the list; per-job metrics on.
#   S2  10,000 jobs split the same way; per-job metrics on.
#   S3  a 100,000-job aurora list; per-job metrics off.
# Each scenario runs in three phases: idle (poll_interval 1h: one poll, then only scrapes), busy
# (poll_interval 100ms: back-to-back cycles) and slow (the simulator answers in 50 ms).
#
# Other knobs: KEEP_WORK=1 (keep the logs and bodies in the temp folder), CONCURRENCY (the exporter's api.max_concurrency, default 16), NGINX_WORKERS
# (worker_processes, default auto).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "bench/run.sh: unknown argument \"$arg\" (usage: bench/run.sh [--quick])" >&2
      exit 2
      ;;
  esac
done
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || {
    echo "bench/run.sh: $tool is missing (apt-get install -y wrk nginx-light curl)" >&2
    exit 1
  }
done

exporter=${EXPORTER:-build/creatify-exporter}
simulator=${SIMULATOR:-build/creatify-simulator}
baseline=${BASELINE:-}
out=${OUT:-BENCHMARKS.md}
concurrency=${CONCURRENCY:-16}
nginx_workers=${NGINX_WORKERS:-auto}
latency_ms=50
for bin in "$exporter" "$simulator" ${baseline:+"$baseline"}; do
  [ -x "$bin" ] || { echo "bench/run.sh: $bin is not an executable (build it first)" >&2; exit 1; }
done
if $quick; then
  sizes=(300 3000 10000)
  secs=1
  cycles=2
  slow_cycles=1
else
  sizes=(1000 10000 100000)
  secs=5
  cycles=5
  slow_cycles=2
fi
hz=$(getconf CLK_TCK)

work=$(mktemp -d)
keep=${KEEP_WORK:-}
chmod 755 "$work" # nginx's workers run as another user and read the bodies from here
www="$work/www"
mkdir -p "$www" "$work/nginx"
started=()
cleanup() {
  local pid
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$keep" ]; then echo "bench/run.sh: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

. bench/lib.sh

# Every figure, keyed "<binary label>.<scenario>.<name>"; commands under "<...>.cmd.<name>".
declare -A R

die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND until it succeeds, at most SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "gave up waiting for $what"
    sleep 0.05
  done
}

# Arithmetic on decimals; prints "n/a" when an operand is missing or a divisor is zero.
calc() {
  awk -v f="$1" -v a="${2:-}" -v b="${3:-}" -v c="${4:-}" 'BEGIN {
    if (a == "" || b == "" || a == "n/a" || b == "n/a") { print "n/a"; exit }
    if (f == "ratio") { if (b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }
    else if (f == "div") { if (b + 0 == 0) print "n/a"; else printf "%.4g\n", a / b }
    else if (f == "sub") printf "%.9g\n", a - b
    else if (f == "le") print (a + 0 <= b + 0) ? "PASS" : "FAIL"
    else if (f == "ge") print (a + 0 >= b + 0) ? "PASS" : "FAIL"
    else if (f == "eq") print (a + 0 == b + 0) ? "PASS" : "FAIL"
  }'
}

# --- processes -----------------------------------------------------------------------------

# sim_start NAME ADS CUSTOM AURORA LATENCY: a simulator whose jobs are all held pending, and the
# exporter config it writes to $work/NAME.sim.yaml. Sets sim_pid.
sim_start() {
  local log="$work/$1.sim.log"
  # It stands for Creatify's servers, which do not share the exporter's cores: it runs at the
  # lowest priority, so that what it costs here does not count as the exporter's.
  nice -n 19 "$simulator" --listen-address=127.0.0.1:0 --seed=1 --hold --threads=64 \
    --ads-clone-jobs="$2" --custom-template-jobs="$3" --aurora-jobs="$4" --latency="$5" \
    --write-exporter-config="$work/$1.sim.yaml" 2>"$log" &
  sim_pid=$!
  started+=("$sim_pid")
  port_of "$log" >/dev/null
}

# exporter_config SIM_YAML OUT_YAML POLL_INTERVAL PER_JOB_METRICS BINARY
exporter_config() {
  sed -e "s/^poll_interval: .*/poll_interval: $3/" \
    -e "s/^api:\$/api:\n  max_concurrency: $concurrency/" "$1" >"$2"
  echo "per_job_metrics: $4" >>"$2"
  # Binaries that keep state and cap the tracked jobs: no state file (exporters run side by
  # side), and room for S3's 100,000 jobs. An older binary refuses the keys: leave them out.
  if CREATIFY_API_ID=x CREATIFY_API_KEY=y "$5" --config.check --config.file=<(
    printf 'state:\n  path: ""\nmax_tracked_jobs: 1000000\n'
  ) >/dev/null 2>&1; then
    printf 'state:\n  path: ""\nmax_tracked_jobs: 1000000\n' >>"$2"
  fi
}

# exp_start BINARY CONFIG NAME: starts the exporter and waits until it is ready (first poll
# done). Sets exp_pid, exp_port, exp_log, url.
exp_start() {
  exp_log="$work/$3.exporter.log"
  CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key "$1" --config.file="$2" \
    --web.listen-address=127.0.0.1:0 --log.level=debug 2>"$exp_log" &
  exp_pid=$!
  started+=("$exp_pid")
  exp_port=$(port_of "$exp_log")
  url="http://127.0.0.1:$exp_port/metrics"
  wait_until 900 "the exporter's first poll ($exp_log)" \
    curl -sf -o /dev/null "http://127.0.0.1:$exp_port/-/ready"
}

# nginx_start: nginx as a non-daemon child serving $www on two ports picked at run time:
# nginx_port with sendfile on (the reference), nginx_port2 with sendfile off, which is the faster
# of the two over loopback on some machines and is shown beside it.
nginx_start() {
  local try conf="$work/nginx/nginx.conf"
  for try in $(seq 20); do
    nginx_port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    nginx_port2=$((nginx_port + 1))
    cat >"$conf" <<EOF
worker_processes $nginx_workers;
daemon off;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { }
  default_type "text/plain; version=0.0.4; charset=utf-8";
  gzip off;
  gzip_static on;
  gzip_vary on;
  server {
    listen 127.0.0.1:$nginx_port;
    root $www;
  }
  server {
    listen 127.0.0.1:$nginx_port2;
    sendfile off;
    root $www;
  }
}
EOF
    echo ok >"$www/ping"
    nginx -p "$work/nginx/" -c "$conf" -e "$work/nginx/error.log" 2>>"$work/nginx/stderr" &
    nginx_pid=$!
    started+=("$nginx_pid")
    local deadline=$((SECONDS + 5))
    while kill -0 "$nginx_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/ping" &&
        curl -sf -o /dev/null "http://127.0.0.1:$nginx_port2/ping" && return 0
      sleep 0.05
    done
    stop "$nginx_pid"
  done
  die "nginx did not start (try $try): $(tail -3 "$work/nginx/error.log" 2>/dev/null)"
}

# --- readings ------------------------------------------------------------------------------

status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
# utime + stime in clock ticks (the fields after the command name, which may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
scrape() { curl -sf --compressed "$url"; }
# metric FILE NAME: the sum of the samples of NAME (every label set) in a /metrics text.
metric() {
  awk -v name="$2" '{ n = $1; sub(/\{.*/, "", n) } n == name {s += $NF; found = 1}
    END {if (found) printf "%.9g\n", s; else print "n/a"}' "$1"
}

# wait_cycles N FILE: waits until N poll cycles have finished; FILE gets the /metrics of that
# moment. The exporter publishes its counters at the end of a cycle, so the file holds whole
# cycles only. While waiting it counts the debug log's "Poll cycle finished" lines rather than
# scrape, so that the waiting costs the exporter nothing (a binary that renders per scrape would
# otherwise render for it); without such lines, it scrapes.
wait_cycles() {
  local deadline=$((SECONDS + 900)) count from_log=false
  grep -q 'msg="Poll cycle finished"' "$exp_log" && from_log=true
  while :; do
    if $from_log; then
      count=$(grep -c 'msg="Poll cycle finished"' "$exp_log" || true)
      if [ "$count" -ge "$1" ]; then
        scrape >"$2" || true
        return 0
      fi
    else
      scrape >"$2" || true
      count=$(metric "$2" creatify_exporter_poll_duration_seconds_count)
      [ "$(calc ge "$count" "$1")" = PASS ] && return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "gave up waiting for $1 poll cycles ($exp_log)"
    sleep 0.05
  done
}

# A wrk percentile in milliseconds.
wrk_ms() {
  awk -v q="$1" '$1 == q {v = $2
    if (v ~ /us$/) x = v / 1000; else if (v ~ /ms$/) x = v + 0
    else if (v ~ /m$/) x = v * 60000; else if (v ~ /s$/) x = v * 1000
    printf "%.3f\n", x}' "$2"
}

# bench_wrk KEY CONNECTIONS URL [gzip]: stores KEY.rps, KEY.p50, KEY.p99 (ms), KEY.errors and
# the command under KEY.cmd.
bench_wrk() {
  local key=$1 file="$work/wrk.$1.txt" threads=2
  [ "$2" -ge 2 ] || threads=1
  local args=(-t"$threads" -c"$2" -d"${secs}s" --timeout 10s --latency)
  [ "${4:-}" = gzip ] && args+=(-H 'Accept-Encoding: gzip')
  wrk "${args[@]}" "$3" >"$file" 2>&1 || true
  R[$key.rps]=$(awk '/^Requests\/sec/ {print $2}' "$file")
  R[$key.p50]=$(wrk_ms 50% "$file")
  R[$key.p99]=$(wrk_ms 99% "$file")
  R[$key.errors]=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) n += $i}
    END {print n + 0}' "$file")
  if [ "${4:-}" = gzip ]; then
    R[$key.cmd]="wrk ${args[*]:0:6} -H 'Accept-Encoding: gzip' $3"
  else
    R[$key.cmd]="wrk ${args[*]} $3"
  fi
}

# bench_p99 KEY URL: three runs of bench_wrk with 16 connections; KEY.p99 and KEY.rps are the
# medians (one 5-second run's p99 is its sixth-slowest scrape or so, and on a shared machine it
# moves by 2-3x from one run to the next), KEY.p99s the three p99s, KEY.cmd the command.
bench_p99() {
  local i p99s=() rpss=()
  for i in 1 2 3; do
    bench_wrk "$1.r$i" 16 "$2"
    p99s+=("${R[$1.r$i.p99]}")
    rpss+=("${R[$1.r$i.rps]}")
  done
  R[$1.p99]=$(printf '%s\n' "${p99s[@]}" | sort -g | sed -n 2p)
  R[$1.rps]=$(printf '%s\n' "${rpss[@]}" | sort -g | sed -n 2p)
  R[$1.p99s]="${p99s[0]}, ${p99s[1]}, ${p99s[2]}"
  R[$1.cmd]=${R[$1.r1.cmd]}
}

# Seconds since midnight of a log line's ts=...T08:09:25.456Z.
log_seconds() {
  { grep -m1 -- "$2" "$1" || true; } | sed -n 's/^ts=[^T]*T\([0-9:.]*\)Z.*/\1/p' |
    awk -F: '{printf "%.3f\n", $1 * 3600 + $2 * 60 + $3}'
}

# The first poll's store update and full render, from the debug log: the time between the start
# of polling and the "Poll cycle finished" line, minus the cycle's own duration (its requests).
first_render_ms() {
  local t0 t1 dur
  t0=$(log_seconds "$1" 'msg="Polling the Creatify API"')
  t1=$(log_seconds "$1" 'msg="Poll cycle finished"')
  dur=$({ grep -m1 'msg="Poll cycle finished"' "$1" || true; } | sed -n 's/.*duration_seconds=\([0-9.]*\).*/\1/p')
  if [ -z "$t0" ] || [ -z "$t1" ] || [ -z "$dur" ]; then
    echo n/a
    return
  fi
  awk -v a="$t0" -v b="$t1" -v d="$dur" 'BEGIN {x = (b - a - d) * 1000; printf "%.0f\n", x < 0 ? 0 : x}'
}

# --- phases --------------------------------------------------------------------------------

# idle_rss LABEL BINARY: VmRSS of an exporter with no jobs, after three plain and three gzip
# scrapes.
idle_rss() {
  sim_start "$1.S0" 0 0 0 0
  exporter_config "$work/$1.S0.sim.yaml" "$work/$1.S0.yaml" 1h true "$2"
  exp_start "$2" "$work/$1.S0.yaml" "$1.S0"
  for _ in 1 2 3; do
    curl -sf -o /dev/null "$url"
    curl -sf -o /dev/null -H 'Accept-Encoding: gzip' "$url"
  done
  R[$1.S0.rss_kb]=$(status_kb "$exp_pid" VmRSS)
  stop "$exp_pid"
  stop "$sim_pid"
}

# measure LABEL BINARY SCENARIO ADS CUSTOM AURORA PER_JOB_METRICS
measure() {
  local label=$1 bin=$2 k="$1.$3" ads=$4 custom=$5 aurora=$6 per_job=$7 m0 m1 c0 c1 cpu0 cpu1
  local jobs=$((ads + custom + aurora))
  R[$k.jobs]=$jobs
  R[$k.per_job]=$per_job
  # Every job is held pending: one request per id-read job, one listing (aurora has no ids), one
  # for the credits.
  R[$k.ideal_requests]=$((ads + custom + 2))
  echo "== $label $3: $ads ads_clone + $custom custom_template by id, $aurora aurora listed" >&2

  # Idle: one poll, then scrapes only.
  sim_start "$k" "$ads" "$custom" "$aurora" 0
  exporter_config "$work/$k.sim.yaml" "$work/$k.idle.yaml" 1h "$per_job" "$bin"
  # A first poll that failed leaves a body without the jobs: start again, once.
  local attempt
  for attempt in 1 2; do
    exp_start "$bin" "$work/$k.idle.yaml" "$k.idle"
    # Ready comes at the latest api.timeout after the start, maybe before the first cycle ends.
    wait_cycles 1 "$work/$k.idle.m0"
    [ "$(metric "$work/$k.idle.m0" creatify_up)" != 1 ] || break
    R[$k.api_error]=$({ grep -m1 'level=warn' "$exp_log" || true; } |
      sed -n 's/.*error=\("[^"]*"\|[^ ]*\).*/\1/p' | tr -d '"')
    echo "   first poll failed (attempt $attempt): ${R[$k.api_error]}" >&2
    R[$k.idle_attempts]=$attempt
    [ "$attempt" = 2 ] || stop "$exp_pid"
  done
  mkdir -p "$www/$k"
  curl -sf -o "$www/$k/metrics" "$url"
  curl -sf -H 'Accept-Encoding: gzip' -D "$work/$k.gzip.headers" -o "$www/$k/metrics.gz" "$url"
  curl -sf -D "$work/$k.plain.headers" -o /dev/null "$url"
  chmod 644 "$www/$k/metrics" "$www/$k/metrics.gz"
  grep -qi '^content-encoding: *gzip' "$work/$k.gzip.headers" || R[$k.no_gzip]=1
  R[$k.keepalive]=$(grep -i '^keep-alive:' "$work/$k.plain.headers" | tr -d '\r' | sed 's/^[^:]*: *//' || true)
  R[$k.plain_bytes]=$(stat -c %s "$www/$k/metrics")
  R[$k.gzip_bytes]=$(stat -c %s "$www/$k/metrics.gz")
  R[$k.series]=$(grep -vc '^#' "$www/$k/metrics" || true)
  R[$k.up]=$(metric "$www/$k/metrics" creatify_up)
  R[$k.first_render_ms]=$(first_render_ms "$exp_log")
  for _ in 1 2 3; do
    curl -sf -o /dev/null "$url"
    curl -sf -o /dev/null -H 'Accept-Encoding: gzip' "$url"
  done
  R[$k.rss_kb]=$(status_kb "$exp_pid" VmRSS)
  R[$k.hwm_before_kb]=$(status_kb "$exp_pid" VmHWM)
  bench_wrk "$k.c8.plain" 8 "$url"
  bench_wrk "$k.c8.gzip" 8 "$url" gzip
  R[$k.hwm_after_kb]=$(status_kb "$exp_pid" VmHWM)
  bench_wrk "$k.one" 1 "$url"
  local nurl="http://127.0.0.1:$nginx_port/$k/metrics"
  curl -sf -H 'Accept-Encoding: gzip' -D "$work/$k.nginx.headers" -o "$work/$k.nginx.gz" "$nurl"
  cmp -s "$work/$k.nginx.gz" "$www/$k/metrics.gz" || die "nginx does not serve $k/metrics.gz as is"
  bench_wrk "$k.exp.plain" 16 "$url"
  bench_wrk "$k.ngx.plain" 16 "$nurl"
  bench_wrk "$k.exp.gzip" 16 "$url" gzip
  bench_wrk "$k.ngx.gzip" 16 "$nurl" gzip
  nurl="http://127.0.0.1:$nginx_port2/$k/metrics"
  bench_wrk "$k.ngx2.plain" 16 "$nurl"
  bench_wrk "$k.ngx2.gzip" 16 "$nurl" gzip
  # The idle side of "scrape p99 during poll cycles", measured as the busy side is.
  bench_p99 "$k.idle.plain" "$url"
  stop "$exp_pid"

  # Busy: cycles back to back (poll_interval 100ms); the first cycle is left out.
  exporter_config "$work/$k.sim.yaml" "$work/$k.busy.yaml" 100ms "$per_job" "$bin"
  exp_start "$bin" "$work/$k.busy.yaml" "$k.busy"
  m0="$work/$k.busy.m0"
  m1="$work/$k.busy.m1"
  wait_cycles 2 "$m0"
  cpu0=$(cpu_ticks "$exp_pid")
  c0=$(metric "$m0" creatify_exporter_poll_duration_seconds_count)
  wait_cycles $((${c0%.*} + cycles)) "$m1"
  cpu1=$(cpu_ticks "$exp_pid")
  c1=$(metric "$m1" creatify_exporter_poll_duration_seconds_count)
  R[$k.busy_cycles]=$(calc sub "$c1" "$c0" | sed 's/\..*//')
  R[$k.requests_per_cycle]=$(calc div "$(calc sub "$(metric "$m1" creatify_exporter_api_requests_total)" \
    "$(metric "$m0" creatify_exporter_api_requests_total)")" "${R[$k.busy_cycles]}")
  R[$k.busy_cycle_s]=$(calc div "$(calc sub "$(metric "$m1" creatify_exporter_poll_duration_seconds_sum)" \
    "$(metric "$m0" creatify_exporter_poll_duration_seconds_sum)")" "${R[$k.busy_cycles]}")
  R[$k.cpu_per_cycle_s]=$(calc div $((cpu1 - cpu0)) $((${R[$k.busy_cycles]} * hz)))
  # The exporter's own figure, where it has one: the render (text and gzip) of a cycle's body,
  # taken from a body of the busy phase (each cycle renders anew; an idle exporter's body shows
  # the render of its start-up).
  R[$k.render_ms]=$(metric "$m1" creatify_exporter_render_seconds |
    awk '$1 == "n/a" {print "n/a"; next} {printf "%.1f\n", $1 * 1000}')
  R[$k.busy_up]=$(metric "$m1" creatify_up)
  bench_p99 "$k.busy.plain" "$url"
  wait_cycles 0 "$m1"
  R[$k.cycles_during_wrk]=$(calc sub "$(metric "$m1" creatify_exporter_poll_duration_seconds_count)" "$c1" |
    sed 's/\..*//')
  stop "$exp_pid"
  stop "$sim_pid"

  # Slow: the simulator answers every API request in 50 ms.
  sim_start "$k.slow" "$ads" "$custom" "$aurora" "${latency_ms}ms"
  exporter_config "$work/$k.slow.sim.yaml" "$work/$k.slow.yaml" 100ms "$per_job" "$bin"
  exp_start "$bin" "$work/$k.slow.yaml" "$k.slow"
  m0="$work/$k.slow.m0"
  m1="$work/$k.slow.m1"
  wait_cycles 1 "$m0"
  c0=$(metric "$m0" creatify_exporter_poll_duration_seconds_count)
  wait_cycles $((${c0%.*} + slow_cycles)) "$m1"
  c1=$(metric "$m1" creatify_exporter_poll_duration_seconds_count)
  R[$k.slow_cycles]=$(calc sub "$c1" "$c0" | sed 's/\..*//')
  R[$k.slow_cycle_s]=$(calc div "$(calc sub "$(metric "$m1" creatify_exporter_poll_duration_seconds_sum)" \
    "$(metric "$m0" creatify_exporter_poll_duration_seconds_sum)")" "${R[$k.slow_cycles]}")
  R[$k.slow_requests]=$(calc div "$(calc sub "$(metric "$m1" creatify_exporter_api_requests_total)" \
    "$(metric "$m0" creatify_exporter_api_requests_total)")" "${R[$k.slow_cycles]}")
  R[$k.ideal_cycle_s]=$(awk -v r="${R[$k.slow_requests]}" -v c="$concurrency" -v l="$latency_ms" \
    'BEGIN {n = int(r / c); if (n * c < r) n++; printf "%.3f\n", n * l / 1000}')
  stop "$exp_pid"
  # A listing of many jobs takes the simulator longer than its 50 ms to make and send: how long
  # curl waits for the very same listing is the floor of a cycle that reads it (the median of 3).
  if [ "$aurora" -gt 0 ]; then
    local base
    base=$(sed -n 's/^ *base_url: *//p' "$work/$k.slow.sim.yaml" | tr -d '"' | head -1)
    R[$k.listing_s]=$(for _ in 1 2 3; do
      curl -sf -o /dev/null -w '%{time_total}\n' -H 'X-API-ID: demo-id' -H 'X-API-KEY: demo-key' \
        "$base/api/aurora/"
    done | sort -n | sed -n 2p)
    R[$k.listing_cmd]="curl -o /dev/null -w '%{time_total}' -H 'X-API-ID: ...' -H 'X-API-KEY: ...' $base/api/aurora/"
  fi
  stop "$sim_pid"
}

# measure_all LABEL BINARY
measure_all() {
  local n
  idle_rss "$1" "$2"
  for i in 0 1; do
    n=${sizes[$i]}
    measure "$1" "$2" "S$((i + 1))" $((n / 3)) $((n / 3)) $((n - 2 * (n / 3))) true
  done
  measure "$1" "$2" S3 0 0 "${sizes[2]}" false
  # A list the exporter refused (creatify_up 0) says nothing about a cycle: measure half the size
  # as well.
  if [ "${R[$1.S3.busy_up]}" != 1 ]; then
    measure "$1" "$2" S3h 0 0 $((sizes[2] / 2)) false
  fi
}

load_before=$(cut -d" " -f1-3 /proc/loadavg)
nginx_start
measure_all cur "$exporter"
[ -z "$baseline" ] || measure_all base "$baseline"
stop "$nginx_pid"

. bench/report.sh
write_report >"$out"
# The two formats on S2 and the memory per job (and that again over fresh exporters); with a
# baseline, the event loops' p99 before and after (each its own sections, measured after the
# scenarios above).
{
  echo
  bench/openmetrics.sh
  echo
  bench/memory.sh
  if [ -n "$baseline" ]; then
    echo
    BASELINE=$baseline bench/loops.sh
  fi
} >>"$out"
echo "wrote $out" >&2

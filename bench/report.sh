# Writes BENCHMARKS.md from the figures bench/run.sh collected in R: sourced by run.sh, not run.
# shellcheck shell=bash disable=SC2154  # R, sizes, secs and the settings are run.sh's

# v KEY: a figure, or n/a.
v() { echo "${R[$1]:-n/a}"; }

# rx A B: "A/Bx", or nothing when there is no ratio.
rx() {
  local r
  r=$(calc ratio "$1" "$2")
  [ "$r" = n/a ] || echo "${r}x"
}

kib() { awk -v b="$1" 'BEGIN {printf "%.1f KiB\n", b / 1024}'; }
mib() { awk -v k="$1" 'BEGIN {if (k == "n/a" || k == "") print "n/a"; else printf "%.1f MiB\n", k / 1024}'; }

# Resident bytes per job: VmRSS minus an exporter with no jobs, minus the bodies, per job.
per_job_bytes() {
  local k="$1.$2" rss idle
  rss=$(v "$k.rss_kb")
  idle=$(v "$1.S0.rss_kb")
  awk -v r="$rss" -v i="$idle" -v p="$(v "$k.plain_bytes")" -v g="$(v "$k.gzip_bytes")" \
    -v n="$(v "$k.jobs")" 'BEGIN {if (r == "n/a" || i == "n/a" || n == 0) print "n/a";
      else printf "%.0f\n", ((r - i) * 1024 - p - g) / n}'
}

scenario_title() {
  local k="cur.$1"
  case $1 in
    S1 | S2) echo "$1: $(v "$k.jobs") tracked jobs (a third ads_clone and a third custom_template read by id, a third aurora listed), per-job metrics on" ;;
    S3) echo "S3: a $(v "$k.jobs")-job aurora list, per-job metrics off" ;;
    S3h) echo "S3h: a $(v "$k.jobs")-job aurora list, per-job metrics off (run because S3's list was refused)" ;;
  esac
}

scenarios() {
  echo S1 S2 S3
  [ -z "${R[cur.S3h.jobs]:-}" ] || echo S3h
}

# A target row: TARGET SCENARIO FIGURE RESULT COMMAND
row() { printf '| %s | %s | %s | **%s** | %s |\n' "$@"; }

# Why a target was missed, where the run shows it.
note_throughput() {
  local k="cur.$1" ka max
  ka=$(v "$k.keepalive")
  max=${ka##*max=}
  if [[ $ka == *max=* && $max =~ ^[0-9]+$ && $max -lt 1000 ]]; then
    echo "- $1: the exporter answers \`Keep-Alive: $ka\`: it closes each connection after" \
      "$max requests, where nginx keeps it for 100000, so wrk reconnects every few scrapes; the" \
      "exporter also sends the plain body in 64 KiB pieces from many job records rather than" \
      "with sendfile."
  else
    echo "- $1: with a small body the cost is per request. Both servers are event loops on the" \
      "cores wrk uses too; the exporter parses each request, checks its route and writes the body" \
      "from memory (the plain body assembled from the job records in 64 KiB pieces, the gzip body" \
      "as one string), where nginx hands a cached file to the kernel with sendfile."
  fi
}

write_targets() {
  local s r f k x
  echo "## Targets"
  echo
  echo "Figures of \`$exporter\`; the commands are those of this run (ports are picked at run time)."
  $quick && echo "This was a \`--quick\` run: the sizes are smaller than the targets assume."
  echo
  echo "| target | scenario | figure | result | measured by |"
  echo "|---|---|---|---|---|"
  local misses=()
  for s in S1 S2; do
    for enc in plain gzip; do
      k="cur.$s"
      r=$(calc ratio "$(v "$k.exp.$enc.rps")" "$(v "$k.ngx.$enc.rps")")
      x=$(calc ratio "$(v "$k.exp.$enc.rps")" "$(v "$k.ngx2.$enc.rps")")
      f=$(calc ge "$r" 0.7)
      row "/metrics ($enc) >= 0.7x nginx on the same bytes" "$s" \
        "$(v "$k.exp.$enc.rps") vs $(v "$k.ngx.$enc.rps") scrapes/s = ${r}x (vs nginx with sendfile off: ${x}x)" "$f" \
        "\`$(v "$k.exp.$enc.cmd")\` and \`$(v "$k.ngx.$enc.cmd")\`"
      [ "$f" = PASS ] || misses+=("$(note_throughput "$s")")
    done
  done
  k=cur.S2
  if [ "$(v "$k.render_ms")" != n/a ]; then
    f=$(calc le "$(v "$k.render_ms")" 50)
    row "render S2 ($(v "$k.series") series) <= 50 ms" S2 \
      "$(v "$k.render_ms") ms (the body's text and its gzip form, once per change); a scrape of the rendered body: p50 $(v "$k.one.p50") ms" \
      "$f" "creatify_exporter_render_seconds on /metrics; \`$(v "$k.one.cmd")\`"
    [ "$f" = PASS ] || misses+=("- render S2: the head is rendered and compressed at every change, the" \
      "pieces of the $(kib "$(v "$k.plain_bytes")") body whose jobs changed are compressed again (zlib," \
      "level 1), and the gzip body is joined from the pieces. A scrape renders nothing.")
  else
    f=$(calc le "$(v "$k.first_render_ms")" 50)
    row "render S2 ($(v "$k.series") series) <= 50 ms" S2 \
      "$(v "$k.first_render_ms") ms (first poll: store update + render + gzip); a scrape of the rendered body: p50 $(v "$k.one.p50") ms" \
      "$f" "debug log: ts of \"Poll cycle finished\" - ts of \"Polling the Creatify API\" - its duration_seconds; \`$(v "$k.one.cmd")\`"
    [ "$f" = PASS ] || misses+=("- render S2: the exporter does not report its render time; the figure is" \
      "the first cycle's store update, the rendering of every job's lines and the gzip of the" \
      "$(kib "$(v "$k.plain_bytes")") body, from log timestamps to the millisecond. A scrape renders nothing.")
  fi
  for s in $(scenarios); do
    k="cur.$s"
    r=$(calc ratio "$(v "$k.busy.plain.p99")" "$(v "$k.idle.plain.p99")")
    f=$(calc le "$r" 1.5)
    row "scrape p99 during poll cycles <= 1.5x idle" "$s" \
      "$(v "$k.busy.plain.p99") ms vs $(v "$k.idle.plain.p99") ms = ${r}x, medians of 3 runs (busy $(v "$k.busy.plain.p99s"); idle $(v "$k.idle.plain.p99s"); $(v "$k.cycles_during_wrk") cycles during the busy runs)" \
      "$f" "\`$(v "$k.busy.plain.cmd")\` 3 times, poll_interval 100ms vs 1h"
    [ "$f" = PASS ] || misses+=("- p99 $s: the poller's threads, the renders of each cycle's new exposition and wrk share $(nproc) cores.")
  done
  k=cur.S2
  r=$(calc ratio "$(v "$k.hwm_after_kb")" "$(v "$k.hwm_before_kb")")
  f=$(calc le "$r" 1.10)
  row "8 concurrent scrapes raise peak RSS <= 10%" S2 \
    "VmHWM $(mib "$(v "$k.hwm_before_kb")") -> $(mib "$(v "$k.hwm_after_kb")") = ${r}x" "$f" \
    "\`grep VmHWM /proc/PID/status\` before and after \`$(v "$k.c8.plain.cmd")\` and the same with gzip"
  [ "$f" = PASS ] || misses+=("- peak RSS: each concurrent scrape holds buffers of its own.")
  for s in $(scenarios); do
    k="cur.$s"
    f=$(calc eq "$(v "$k.requests_per_cycle")" "$(v "$k.ideal_requests")")
    row "API requests per cycle = ideal" "$s" \
      "$(v "$k.requests_per_cycle") vs $(v "$k.ideal_requests")" "$f" \
      "delta of creatify_exporter_api_requests_total / delta of creatify_exporter_poll_duration_seconds_count over $(v "$k.busy_cycles") cycles"
    [ "$f" = PASS ] || misses+=("- requests $s: see creatify_exporter_api_requests_total by endpoint in the exporter's /metrics.")
  done
  for s in $(scenarios); do
    k="cur.$s"
    r=$(calc ratio "$(v "$k.slow_cycle_s")" "$(v "$k.ideal_cycle_s")")
    f=$(calc le "$r" 1.25)
    row "cycle wall time <= 1.25x ideal (50 ms answers)" "$s" \
      "$(v "$k.slow_cycle_s") s vs $(v "$k.ideal_cycle_s") s = ${r}x" "$f" \
      "delta of poll_duration_seconds_sum / _count over $(v "$k.slow_cycles") cycles; ideal = ceil($(v "$k.slow_requests") requests / $concurrency) x 50 ms"
    if [ "$f" != PASS ]; then
      case $s in
        S3*) misses+=("- cycle $s: the ideal counts 50 ms per request only, but the simulator takes $(v "$k.listing_s") s to make and send the $(v "$k.jobs")-job listing (curl, below); against that floor the cycle is $(calc ratio "$(v "$k.slow_cycle_s")" "$(v "$k.listing_s")")x.") ;;
        *) misses+=("- cycle $s: the figure includes the store update and the render at the end of each cycle.") ;;
      esac
    fi
    # Only where the listing is the cycle (no job read by id): elsewhere it is one request of many.
    if [[ $s == S3* && "$(v "$k.listing_s")" != n/a ]]; then
      r=$(calc ratio "$(v "$k.slow_cycle_s")" "$(v "$k.listing_s")")
      row "cycle wall time vs curl reading the same listing (the floor of a cycle that reads it)" "$s" \
        "$(v "$k.slow_cycle_s") s vs $(v "$k.listing_s") s = ${r}x" "$(calc le "$r" 1.25)" \
        "\`$(v "$k.listing_cmd")\`, the median of 3, with the exporter stopped"
    fi
  done
  for s in $(scenarios); do
    [[ $s == S3* ]] || continue
    k="cur.$s"
    f=$(calc le "$(v "$k.cpu_per_cycle_s")" 1)
    x=""
    [ "$(v "$k.busy_up")" = 1 ] || x=" (creatify_up 0: the list was refused, not processed)"
    row "cycle under 1 CPU-second" "$s" "$(v "$k.cpu_per_cycle_s") s$x" "$f" \
      "utime+stime from /proc/PID/stat over $(v "$k.busy_cycles") cycles / cycles"
    [ "$(v "$k.busy_up")" = 1 ] || misses+=("- $s: the exporter refused the list: $(v "$k.api_error") (the body is $(v "$k.jobs") jobs in one JSON array, about 530 bytes each); measuring it needs a larger response limit in the exporter, or a paged list in both the simulator and the exporter.")
    if [ "$f" != PASS ] && [ "$(v "$k.busy_up")" = 1 ]; then
      x="- CPU $s: reading the $(v "$k.jobs")-job listing is most of it. In a profile (perf record"
      x+=" on the exporter, this scenario, quiet machine: 0.55-0.6 s a cycle) about a fifth is"
      x+=" allocating the jobs and their ids, a fifth reading the JSON (the nesting check and"
      x+=" creatify::JsonReader), a sixth faulting in and zeroing the pages of the body and the"
      x+=" jobs, an eighth the hash lookups of the ids (duplicates, then the store) and a tenth the"
      x+=" store's merge and expiry walks. Each cycle reads and merges the whole listing; with"
      x+=" other load on the machine, the same work counts for more CPU time."
      misses+=("$x")
    fi
  done
  k=cur.S2
  x=$(per_job_bytes cur S2)
  f=$(calc le "$x" 1024)
  row "<= 1 KiB resident per tracked job (10,000 unfinished)" S2 \
    "$x bytes/job" "$f" \
    "(VmRSS $(mib "$(v "$k.rss_kb")") - VmRSS with no jobs $(mib "$(v cur.S0.rss_kb)") - plain $(kib "$(v "$k.plain_bytes")") - gzip $(kib "$(v "$k.gzip_bytes")")) / $(v "$k.jobs") jobs, after 3 plain and 3 gzip scrapes"
  [ "$f" = PASS ] || misses+=("- memory: each job keeps its record and its rendered lines (about $(awk -v p="$(v "$k.plain_bytes")" -v n="$(v "$k.jobs")" 'BEGIN {printf "%.0f", p / n}') bytes of text per job).")
  echo
  if [ ${#misses[@]} -gt 0 ]; then
    echo "What stands in the way of the missed targets, as far as this run shows:"
    echo
    printf '%s\n' "${misses[@]}" | awk '!seen[$0]++'
    echo
  fi
}

# shellcheck disable=SC2016  # the backquotes are Markdown
write_scenario() {
  local s=$1 k="cur.$1" enc
  echo "### $(scenario_title "$s")"
  echo
  echo "Body: $(kib "$(v "$k.plain_bytes")") plain, $(kib "$(v "$k.gzip_bytes")") gzip, $(v "$k.series") samples; creatify_up $(v "$k.up")."
  [ -z "${R[$k.api_error]:-}" ] ||
    echo "The idle exporter's first poll failed ($(v "$k.idle_attempts") time(s)): \`$(v "$k.api_error")\`."
  echo
  echo "| /metrics, 16 connections | exporter | nginx, same bytes | exporter / nginx | nginx, sendfile off | exporter / that |"
  echo "|---|---|---|---|---|---|"
  local fig
  for enc in plain gzip; do
    for fig in rps p50 p99 errors; do
      printf '| %s %s | %s | %s | %s | %s | %s |\n' "$enc" \
        "$(case $fig in rps) echo scrapes/s ;; errors) echo "wrk errors (non-2xx, socket)" ;; *) echo "$fig ms" ;; esac)" \
        "$(v "$k.exp.$enc.$fig")" "$(v "$k.ngx.$enc.$fig")" \
        "$(rx "$(v "$k.exp.$enc.$fig")" "$(v "$k.ngx.$enc.$fig")")" \
        "$(v "$k.ngx2.$enc.$fig")" "$(rx "$(v "$k.exp.$enc.$fig")" "$(v "$k.ngx2.$enc.$fig")")"
    done
  done
  echo
  echo "Commands: exporter \`$(v "$k.exp.plain.cmd")\`; nginx \`$(v "$k.ngx.plain.cmd")\`, with sendfile off \`$(v "$k.ngx2.plain.cmd")\`; gzip: the same with \`-H 'Accept-Encoding: gzip'\`."
  echo "nginx serves the exporter's plain body saved with curl, and its gzip body (saved with \`curl -H 'Accept-Encoding: gzip'\`) through gzip_static."

  echo
  echo "| figure | value | how |"
  echo "|---|---|---|"
  echo "| one scrape of the rendered body, 1 connection | p50 $(v "$k.one.p50") ms, p99 $(v "$k.one.p99") ms | \`$(v "$k.one.cmd")\` |"
  echo "| first poll's store update + render + gzip | $(v "$k.first_render_ms") ms | exporter debug log timestamps |"
  echo "| scrape p99 idle / during poll cycles, medians of 3 runs | $(v "$k.idle.plain.p99") / $(v "$k.busy.plain.p99") ms ($(calc ratio "$(v "$k.busy.plain.p99")" "$(v "$k.idle.plain.p99")")x) | \`$(v "$k.busy.plain.cmd")\` 3 times, poll_interval 1h vs 100ms |"
  echo "| scrapes/s during poll cycles | $(v "$k.busy.plain.rps") | (same) |"
  echo "| API requests per cycle / ideal | $(v "$k.requests_per_cycle") / $(v "$k.ideal_requests") | api_requests_total deltas over $(v "$k.busy_cycles") cycles |"
  echo "| cycle wall time, instant answers | $(v "$k.busy_cycle_s") s | poll_duration_seconds sum/count deltas |"
  echo "| cycle wall time, 50 ms answers / ideal | $(v "$k.slow_cycle_s") s / $(v "$k.ideal_cycle_s") s ($(calc ratio "$(v "$k.slow_cycle_s")" "$(v "$k.ideal_cycle_s")")x) | simulator \`--latency=50ms\`, max_concurrency $concurrency, $(v "$k.slow_cycles") cycles |"
  echo "| CPU per cycle | $(v "$k.cpu_per_cycle_s") s | utime+stime, /proc/PID/stat |"
  echo "| VmRSS after 3 plain + 3 gzip scrapes | $(mib "$(v "$k.rss_kb")") ($(per_job_bytes cur "$s") bytes/job net) | /proc/PID/status |"
  echo "| VmHWM before / after 8 concurrent scrapes | $(mib "$(v "$k.hwm_before_kb")") / $(mib "$(v "$k.hwm_after_kb")") ($(calc ratio "$(v "$k.hwm_after_kb")" "$(v "$k.hwm_before_kb")")x) | \`$(v "$k.c8.plain.cmd")\`, then gzip |"
  echo
}

write_baseline() {
  [ -n "$baseline" ] || return 0
  local s name key b c
  echo "## Against the baseline"
  echo
  echo "\`$baseline\` ($("$baseline" --version 2>&1 | head -1)) measured in the same run, same scenarios."
  echo "A ratio above 1 means the figure is larger with this build."
  echo
  echo "| scenario | figure | this build | baseline | this / baseline |"
  echo "|---|---|---|---|---|"
  for s in $(scenarios); do
    for name in exp.plain.rps exp.gzip.rps exp.plain.p99 exp.gzip.p99 idle.plain.p99 busy.plain.p99 one.p50 \
      first_render_ms requests_per_cycle slow_cycle_s cpu_per_cycle_s rss_kb hwm_after_kb plain_bytes gzip_bytes; do
      key="$s.$name"
      c=$(v "cur.$key")
      b=$(v "base.$key")
      echo "| $s | $name | $c | $b | $(calc ratio "$c" "$b") |"
    done
    c=$(per_job_bytes cur "$s")
    b=$(per_job_bytes base "$s")
    echo "| $s | resident bytes per job | $c | $b | $(calc ratio "$c" "$b") |"
  done
  echo
}

write_report() {
  local cpu mem
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
  echo "# Benchmarks"
  echo
  echo "Written by \`bench/run.sh$($quick && echo ' --quick')\`; run it again to refresh this file (it"
  echo "needs \`wrk\`, \`nginx\` and \`curl\`: \`apt-get install -y wrk nginx-light curl\`)."
  echo "Other programs were running on the machine, so absolute figures are noisy: read the ratios,"
  echo "which compare figures taken in the same run."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $(date -u +%Y-%m-%dT%H:%MZ) |"
  echo "| commit | \`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)') |"
  echo "| exporter | \`$exporter\`: $("$exporter" --version 2>&1 | head -1) |"
  echo "| simulator | \`nice -n 19 $simulator\`, \`--hold --threads=64 --seed=1\` (lowest priority: it stands for Creatify's servers, which do not share the exporter's cores) |"
  echo "| machine | $(nproc) CPUs, $cpu, $mem |"
  echo "| load average | $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end |"
  echo "| nginx | $(nginx -v 2>&1 | sed 's/.*: //'), worker_processes $nginx_workers ($(nproc) here), sendfile on (the reference for the targets; a second server with sendfile off is shown beside it), tcp_nopush on, keepalive_requests 100000, gzip_static on, access_log off |"
  echo "| wrk | ${secs} s per run; 2 threads, 16 connections unless said |"
  echo "| exporter config | written by the simulator; api.max_concurrency $concurrency; poll_interval 1h (idle), 100ms (during poll cycles) |"
  echo
  write_targets
  echo "## Scenarios"
  echo
  echo "An exporter with no jobs: VmRSS $(mib "$(v cur.S0.rss_kb)") after 3 plain and 3 gzip scrapes."
  echo
  local s
  for s in $(scenarios); do write_scenario "$s"; done
  write_baseline
  echo "## Not measured, and why"
  echo
  echo "- Render time of a scrape: there is none to measure. The exporter renders an exposition once"
  echo "  per change of its state (at the end of a poll cycle) and serves it as is; it does not expose"
  echo "  the time that takes. The table gives the first cycle's store update + render + gzip from its"
  echo "  debug log (millisecond timestamps), and the latency of one scrape of the rendered body."
  if [ -n "${R[cur.S3h.jobs]:-}" ]; then
    echo "- S3 at $(v cur.S3.jobs) jobs: the exporter refused the listing ($(v cur.S3.api_error)),"
    echo "  so the cycle figures of S3 are those of a failed cycle; S3h repeats it at $(v cur.S3h.jobs) jobs."
  fi
  echo "- Cycles with jobs that change: every job is held pending (\`--hold\`) so that the request"
  echo "  count is fixed; cycles in which many jobs change status render more job lines."
}

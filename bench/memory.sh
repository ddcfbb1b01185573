#!/usr/bin/env bash
# Resident memory per tracked job at S2 (10,002 unfinished jobs), by the formula of
# bench/openmetrics.sh: (VmRSS - VmRSS with no jobs - plain body - gzip body) / jobs. A single
# figure moves by some 30 bytes from one start to the next (where the allocator's pages fall), so
# this starts MEMORY_RUNS fresh exporters (default 5) and prints a Markdown section with every
# figure and their median.
#
#   bench/memory.sh                          MEMORY_RUNS=5 JOBS=3334
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${MEMORY_RUNS:-5}
jobs=${JOBS:-3334}
figures=()
for _ in $(seq "$runs"); do
  line=$(RUNS=0 JOBS=$jobs bench/openmetrics.sh | grep -o '\*\*[0-9]* bytes/job\*\*')
  figures+=("$(tr -dc 0-9 <<<"$line")")
done
median=$(printf '%s\n' "${figures[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
max=$(printf '%s\n' "${figures[@]}" | sort -n | tail -1)

echo "## Memory per tracked job"
echo
echo "\`bench/memory.sh\` on $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ): $((jobs * 3)) unfinished jobs (S2),"
echo "$runs fresh exporters, each measured as in the section above (\`RUNS=0 bench/openmetrics.sh\`)."
echo
echo "| runs (bytes/job) | median | highest | goal |"
echo "|---|---|---|---|"
echo "| $(printf '%s, ' "${figures[@]}" | sed 's/, $//') | **$median** | $max | <= 768: $([ "$median" -le 768 ] && echo met || echo 'not met') |"

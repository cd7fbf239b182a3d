#!/usr/bin/env bash
# Interleaved series: the same phases for several daemon binaries (and the bare forwarder),
# alternated round by round so that machine noise falls on all of them alike.
#   bench/series.sh ROUNDS OUT LABEL=BINARY [LABEL=BINARY …]
# Each line of OUT: "<phase> <round> <label> | <the harness's table rows>".
set -euo pipefail
cd "$(dirname "$0")"
rounds=$1; out=$2; shift 2
echo "# series $(date -u +%FT%TZ): $*; load average: $(cat /proc/loadavg)" > "$out"
for r in $(seq 1 "$rounds"); do
  for spec in "$@" forwarder=baseline; do
    label=${spec%%=*}; bin=${spec#*=}
    if [ "$bin" = baseline ]; then target=(--target baseline); else target=(--alertd "$bin"); fi
    for phase in steady burst; do
      if [ "$phase" = steady ]; then args=(run --rate 50 --count 1500); else args=(burst --count 2000 --rate 500); fi
      rows=$(./target/release/harness "${args[@]}" "${target[@]}" 2>&1 | grep -E '^\| (alertd|forwarder) ' | tr '\n' ' ')
      echo "$phase $r $label | $rows" >> "$out"
    done
  done
done
echo "# done $(date -u +%FT%TZ); load average: $(cat /proc/loadavg)" >> "$out"

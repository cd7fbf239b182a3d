#!/usr/bin/env bash
# Profiles the release daemon during a benchmark phase: CPU (perf record -g) and the syscalls
# that wait (with TRACE=1: perf trace summary: fsync, futex, busy-handler sleeps).
#   bench/profile.sh burst|run [OUTDIR]
# Needs perf (apt-get install linux-perf) and root. Results in OUTDIR (default bench/results/profile-<date>).
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-burst}
out=${2:-results/profile-$(date +%Y%m%d-%H%M)-$mode}
mkdir -p "$out"
if [ "$mode" = burst ]; then args=(burst --count 2000 --rate 500); else args=(run --rate 50 --count 1000); fi
./target/release/harness "${args[@]}" > "$out/harness.txt" 2>&1 &
h=$!
pid=""
for _ in $(seq 1 200); do
  pid=$(pgrep -n -f "target/release/alertd run --config /tmp/alertd-bench-" || true)
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || { echo "daemon not found"; exit 1; }
sleep 4.5   # past the warm-up; the measured phase starts ~5.5 s after the daemon
perf record -F 400 --call-graph dwarf,8192 -p "$pid" -o "$out/perf.data" -- sleep 9 2> "$out/perf-record.txt" &
p1=$!
if [ "${TRACE:-0}" = 1 ]; then
  # Syscall summary per thread (distorts the CPU profile, so only on request). Threads that
  # tokio starts after this point (blocking pool) are not followed.
  perf trace -s -p "$pid" -o "$out/trace-summary.txt" -- sleep 9 2>/dev/null &
  p2=$!
  wait $p2 || true
fi
wait $p1 || true
wait $h || true
perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | head -120 > "$out/report-self.txt" || true
perf report -i "$out/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v "^$" | head -120 > "$out/report-children.txt" || true
echo "profile in $out"

#!/usr/bin/env bash
# CPU per message and thread of the daemon at 50 msg/s: utime and stime of each thread
# (/proc/<pid>/task/*/stat) over 20 s of `harness run`, divided by the 1,000 messages of that window.
#   bench/thread-cpu.sh [--alertd PATH]
set -euo pipefail
cd "$(dirname "$0")"
./target/release/harness run --rate 50 --count 1500 "$@" > /tmp/alertd-thread-cpu.txt 2>&1 &
pid=""
for _ in $(seq 1 200); do
  pid=$(pgrep -n -f "alertd[a-z-]* run --config /tmp/alertd-bench-" || true); [ -n "$pid" ] && break; sleep 0.05
done
[ -n "$pid" ] || { echo "daemon not found"; exit 1; }
sleep 6
snap() { for t in /proc/"$pid"/task/*; do echo "$(tr ' ' _ < "$t"/comm) $(awk '{print $14" "$15}' "$t"/stat)"; done |
  awk '{u[$1]+=$2; s[$1]+=$3} END {for (k in u) print k, u[k], s[k]}' | sort; }
snap > /tmp/alertd-cpu-1; sleep 20; snap > /tmp/alertd-cpu-2
wait
grep -E '^\| alertd .*both' /tmp/alertd-thread-cpu.txt
# clock ticks are 10 ms; 20 s at 50 msg/s = 1,000 messages
join /tmp/alertd-cpu-1 /tmp/alertd-cpu-2 | awk '{printf "%-18s user %.2f  sys %.2f ms/msg\n", $1, ($4-$2)*10/1000, ($5-$3)*10/1000}'

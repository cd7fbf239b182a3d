#!/usr/bin/env python3
"""Summarises a series.sh output file: per phase and label, each round's `both` row
(p50/p90/p99/max ms, RSS max, CPU %, threads) and the medians over the rounds.
    bench/series-summary.py results/series-….md"""
import statistics, sys, collections

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith('#') or '|' not in line:
        continue
    head, rest = line.split('|', 1)
    phase, rnd, label = head.split()
    cells = [c.strip() for c in rest.split('|')]
    # table rows are "| system | phase | channel | sent | delivered | doubled | p50 | p90 | p99 | max | rss | cpu | threads |"
    chunks, cur = [], []
    for c in cells:
        cur.append(c)
        if len(cur) == 14:
            chunks.append(cur[1:]); cur = []
    by = {c[2]: c for c in chunks}
    both, wechat = by.get('both'), by.get('wechat')
    if not both or not wechat:
        continue
    rows[(phase, label)].append(dict(
        round=int(rnd), delivered=f"{wechat[4]}/{by['weibo'][4]}", doubled=int(wechat[5]) + int(by['weibo'][5]),
        p50=float(both[6]), p90=float(both[7]), p99=float(both[8]), mx=float(both[9]),
        rss=wechat[10].split('/')[-1].strip(), cpu=wechat[11], threads=wechat[12]))

print('| phase | binary | round | delivered (wechat/weibo) | doubled | p50 ms | p90 ms | p99 ms | max ms | RSS max MiB | CPU % | threads |')
print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for (phase, label), rs in sorted(rows.items()):
    for r in rs:
        print(f"| {phase} | {label} | {r['round']} | {r['delivered']} | {r['doubled']} | {r['p50']:.2f} | {r['p90']:.2f} | {r['p99']:.2f} | {r['mx']:.2f} | {r['rss']} | {r['cpu']} | {r['threads']} |")
print()
print('| phase | binary | rounds | median p50 | p50 range | median p99 | p99 range | max range |')
print('|---|---|---:|---:|---|---:|---|---|')
for (phase, label), rs in sorted(rows.items()):
    p50 = [r['p50'] for r in rs]; p99 = [r['p99'] for r in rs]; mx = [r['mx'] for r in rs]
    print(f"| {phase} | {label} | {len(rs)} | {statistics.median(p50):.2f} | {min(p50):.2f}–{max(p50):.2f} | {statistics.median(p99):.2f} | {min(p99):.2f}–{max(p99):.2f} | {min(mx):.1f}–{max(mx):.1f} |")

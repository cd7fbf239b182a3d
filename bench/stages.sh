#!/usr/bin/env bash
# One message's way through the daemon at 50 msg/s, from a perf trace of its syscalls: MQTT
# recvfrom → the pipeline's fsync (start, duration) → the WeChat POST (writev). perf trace slows
# every syscall, so the sum is above the harness's latency; the split is what it is for.
#   bench/stages.sh [--alertd PATH]
cd "$(dirname "$0")"
(./target/release/harness run --rate 50 --count 600 "$@" > /tmp/h2.txt 2>&1 &)
for i in $(seq 1 200); do pid=$(pgrep -n -f "alertd[a-z-]* run --config /tmp/alertd-bench-" || true); [ -n "$pid" ] && break; sleep 0.05; done
sleep 6
timeout 4 perf trace -p $pid -e 'recvfrom,fsync,fdatasync,writev' -o /tmp/pt2.txt >/dev/null 2>&1
sleep 7
grep -E '^\| alertd .*both' /tmp/h2.txt
python3 - <<'PY'
import re,statistics
ev=[]
for l in open('/tmp/pt2.txt'):
    m=re.match(r'\s*([\d.]+) \(\s*([\d.]*) ms\): (\S+)/(\d+) (\w+)\((.*)',l)
    if not m: continue
    t=float(m.group(1)); d=m.group(2); comm=m.group(3); sc=m.group(5); args=m.group(6)
    if 'continued' in l: continue
    fd=re.search(r'fd: (\d+)',args); fd=int(fd.group(1)) if fd else None
    ev.append((t,float(d) if d else None,comm,sc,fd,l))
ev.sort()
# MQTT fd: the fd that gets 4-byte writev (PUBACK)
mq=None
for t,d,c,sc,fd,l in ev:
    if sc=='writev' and l.rstrip().endswith('= 4'): mq=fd;break
rows=[]
i=0
for k,(t,d,c,sc,fd,l) in enumerate(ev):
    if sc=='recvfrom' and fd==mq:
        # next pipeline fsync and next writev (not mq, 948 bytes)
        fs=next(((t2,d2) for t2,d2,c2,s2,f2,l2 in ev[k:] if c2.startswith('pipeline') and s2 in('fsync','fdatasync') and d2),None)
        if not fs: continue
        post=next((t2 for t2,d2,c2,s2,f2,l2 in ev[k:] if s2=='writev' and f2!=mq and t2>fs[0] and l2.rstrip().endswith('= 948')),None)
        if not post or post-t>20: continue
        rows.append((fs[0]-t, fs[1], post-(fs[0]+fs[1]), post-t))
if rows:
    for name,idx in (('recv->fsync start',0),('fsync',1),('fsync end->POST',2),('recv->POST',3)):
        v=sorted(r[idx] for r in rows); print('%-18s n=%d p50 %.3f  p90 %.3f ms'%(name,len(v),v[len(v)//2],v[int(len(v)*.9)]))
PY

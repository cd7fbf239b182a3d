#!/usr/bin/env python3
"""The disk's floor under a durable commit: 4 KiB pwrite + fsync (and + fdatasync), 500 times
each with 20 ms pauses, then 20 pages + fsync against 1 page + fsync.
    bench/fsync-probe.py [FILE]   (default /tmp/alertd-fsync-probe.dat; same disk as the bench store)"""
import os, sys, time

fn = sys.argv[1] if len(sys.argv) > 1 else '/tmp/alertd-fsync-probe.dat'
fd = os.open(fn, os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'\0' * (8 << 20)); os.fsync(fd)

def probe(name, pages, sync, n=500):
    ts, buf = [], b'x' * 4096
    for i in range(n):
        t = time.perf_counter()
        for p in range(pages):
            os.pwrite(fd, buf, ((i * pages + p) % 1500) * 4096)
        sync(fd)
        ts.append((time.perf_counter() - t) * 1000)
        time.sleep(0.02)
    ts.sort()
    print(f"{name:<24} p50 {ts[n // 2]:.3f}  p90 {ts[n * 9 // 10]:.3f}  p99 {ts[n * 99 // 100]:.3f}  max {ts[-1]:.3f} ms")

probe('1 page + fsync', 1, os.fsync)
probe('1 page + fdatasync', 1, os.fdatasync)
probe('20 pages + fsync', 20, os.fsync, 300)
probe('1 page + fsync', 1, os.fsync)
os.close(fd); os.unlink(fn)

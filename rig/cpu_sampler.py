"""Samples cumulative CPU seconds per component from /proc, once a second.

Usage: cpu_sampler.py OUT.csv INTERVAL NAME=PID [NAME=PID ...]

A component is a process and all its descendants (Nginx's and gunicorn's
workers); its CPU is utime + stime of every live process in the tree plus
the root's cutime + cstime (children it has reaped). Rows:
time,component,cpu_seconds with time in Unix seconds. Stops when every
root process has exited or on SIGTERM.
"""

import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(rest[1]), int(rest[11]), int(rest[12]), int(rest[13]), int(rest[14])


def main():
    out, interval, pairs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    roots = {int(p.split("=")[1]): p.split("=")[0] for p in pairs}
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    with open(out, "w") as f:
        f.write("time,component,cpu_seconds\n")
        while running:
            now = time.time()
            procs = {}
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        procs[int(d)] = stat(d)
                    except (OSError, ValueError, IndexError):
                        pass
            children = {}
            for pid, st in procs.items():
                children.setdefault(st[0], []).append(pid)
            alive = 0
            for root, name in roots.items():
                if root not in procs:
                    continue
                alive += 1
                total = procs[root][3] + procs[root][4]
                todo = [root]
                while todo:
                    p = todo.pop()
                    total += procs[p][1] + procs[p][2]
                    todo.extend(children.get(p, []))
                f.write(f"{now:.3f},{name},{total / TICK:.2f}\n")
            f.flush()
            if alive == 0:
                break
            time.sleep(max(0.0, interval - (time.time() - now)))


main()

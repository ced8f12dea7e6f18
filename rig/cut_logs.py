"""Cuts a rig log before its first record stamped at or after CUT (Unix
seconds), whole lines kept: HAProxy's accept date, Nginx's $msec, the slow
log's `# Time:` (the rig's clocks are UTC).

    python3 rig/cut_logs.py LOG CUT > OUT
"""
import calendar
import re
import sys
import time


def stamp(line):
    m = re.search(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d)\.\d{3}\]", line)
    if m:
        return calendar.timegm(time.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S"))
    if line.startswith("# Time: "):
        return calendar.timegm(time.strptime(" ".join(line[8:].split()), "%y%m%d %H:%M:%S"))
    m = re.search(r" (\d{10})\.\d{3} ", line)
    if m:
        return int(m.group(1))
    return None


def main():
    path, cut = sys.argv[1], int(sys.argv[2])
    with open(path, errors="surrogateescape") as f:
        for line in f:
            t = stamp(line)
            if t is not None and t >= cut:
                break
            sys.stdout.write(line)


main()

#!/usr/bin/env python3
"""Run a command and print: wall seconds, exit status, peak RSS of the
largest single process (KiB, like GNU time %M), and peak RSS summed over
the whole process tree (KiB, sampled every 50 ms from /proc), and CPU
seconds (user + system, the command and the children it waited for).

Usage: measure.py [--timeout SECONDS] -- CMD [ARGS...]
stdout of CMD goes to /dev/null, stderr is kept. Output is one line:
    WALL EXIT MAXRSS TREERSS TIMEDOUT CPU
"""
import os
import resource
import signal
import subprocess
import sys
import threading
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parens
        rest = s[s.rfind(b")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(d))
    return kids


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root):
    kids = children_map()
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss_kib(p)
        todo.extend(kids.get(p, ()))
    return total


def main():
    args = sys.argv[1:]
    timeout = None
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
    # wait4 blocks in a thread so the wall time is exact; the main loop only
    # samples the tree's RSS.
    done = {}

    def waiter():
        done["r"] = os.wait4(proc.pid, 0)
        done["t"] = time.monotonic()

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    peak_tree, timed_out = 0, False
    while t.is_alive():
        peak_tree = max(peak_tree, tree_rss(proc.pid))
        if timeout is not None and not timed_out and time.monotonic() - start > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            t.join(5)
            if t.is_alive():
                os.killpg(proc.pid, signal.SIGKILL)
        t.join(0.05)
    _, status, ru = done["r"]
    wall = done["t"] - start
    code = os.waitstatus_to_exitcode(status)
    cpu = ru.ru_utime + ru.ru_stime
    print(f"{wall:.3f} {code} {ru.ru_maxrss} {max(peak_tree, ru.ru_maxrss)} {int(timed_out)} {cpu:.3f}")


if __name__ == "__main__":
    main()

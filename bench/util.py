#!/usr/bin/env python3
"""Small helpers for bench/run.sh (standard library only).

    util.py freeport                       a free TCP port on 127.0.0.1
    util.py start PORT TIMEOUT LOG -- CMD  start CMD (stdout+stderr to LOG), poll
                                           http://127.0.0.1:PORT/__specbox/health until it answers
                                           200; print "PID MILLISECONDS" and exit, leaving CMD running
    util.py mem PID                        "VmRSS_MB VmHWM_MB" of a process
    util.py wrk FILE                       parse wrk --latency output: "RPS P50_MS P99_MS REQUESTS
                                           NON2XX SOCKET_ERRORS"
    util.py get JSON_PATH                  read JSON on stdin, print the value at a dotted path
                                           (data.0.id)
"""

import json
import os
import re
import socket
import subprocess
import sys
import time


def freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def healthy(port):
    """One GET /__specbox/health; True on a 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(
                b"GET /__specbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            head = s.recv(64)
            return head.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start(port, timeout, log, cmd):
    """Starts cmd and polls tightly (0.5 ms between attempts) until it is healthy."""
    out = open(log, "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if healthy(port):
            ms = (time.monotonic() - t0) * 1000
            print(f"{proc.pid} {ms:.1f}")
            return 0
        if proc.poll() is not None:
            sys.stderr.write(f"{cmd[0]} exited with status {proc.returncode} before answering; log {log}:\n")
            sys.stderr.write(open(log, encoding="utf-8", errors="replace").read()[-3000:])
            return 1
        time.sleep(0.0005)
    proc.kill()
    sys.stderr.write(f"{cmd[0]} did not answer /__specbox/health within {timeout} s (killed); log {log}\n")
    return 1


def mem(pid):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0]) / 1024  # kB -> MB
    print(f"{vals.get('VmRSS', 0):.1f} {vals.get('VmHWM', 0):.1f}")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def wrk(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    total = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    print(
        f"{float(rps.group(1)) if rps else 0:.0f} "
        f"{ms(p50.group(1)) if p50 else float('nan'):.3f} "
        f"{ms(p99.group(1)) if p99 else float('nan'):.3f} "
        f"{total.group(1) if total else 0} {non2xx.group(1) if non2xx else 0} {errors}"
    )


def get(path):
    v = json.load(sys.stdin)
    for part in path.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    print(v if not isinstance(v, (dict, list)) else json.dumps(v))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    cmd, rest = args[0], args[1:]
    if cmd == "freeport":
        freeport()
    elif cmd == "start":
        sep = rest.index("--")
        port, timeout, log = rest[:sep]
        sys.exit(start(int(port), float(timeout), log, rest[sep + 1 :]))
    elif cmd == "mem":
        mem(rest[0])
    elif cmd == "wrk":
        wrk(rest[0])
    elif cmd == "get":
        get(rest[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Small helpers for bench/run.sh (standard library only).

    util.py freeport                       a free TCP port on 127.0.0.1
    util.py start PORT TIMEOUT LOG -- CMD  start CMD (stdout+stderr to LOG), poll
                                           http://127.0.0.1:PORT/__specbox/health until it answers
                                           200; print "PID MILLISECONDS" and exit, leaving CMD running
    util.py mem PID                        "VmRSS_MB VmHWM_MB" of a process
    util.py cpu PID                        CPU time a process has used so far (user + system, all
                                           its threads), in milliseconds
    util.py wrk FILE                       parse wrk --latency output: "RPS P50_MS P99_MS REQUESTS
                                           NON2XX SOCKET_ERRORS"
    util.py get JSON_PATH                  read JSON on stdin, print the value at a dotted path
                                           (data.0.id)
    util.py specsize SPEC                  "BYTES FILES": the size on disk of a spec and of every file
                                           its $refs reach, transitively (a multi-file spec's size)
    util.py uncache FILE                   drop FILE's pages from the page cache (those no process maps)
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


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    print(f"{ticks * 1000 / os.sysconf('SC_CLK_TCK'):.0f}")


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


# A `$ref` and its target in JSON or YAML text: "$ref": "x.json#/a", $ref: 'x.yml', $ref: x.yml#/a
REF = re.compile(r"""["']?\$ref["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|([^\s,}\]]+))""")
LITERAL_KEYS = ("example", "enum", "const", "default", "value")


def refs_parsed(value, out):
    """The `$ref`s of a parsed document, skipping literal values (as specbox's bundler does)."""
    if isinstance(value, dict):
        r = value.get("$ref")
        if isinstance(r, str):
            out.append(r)
        for k, v in value.items():
            if k in LITERAL_KEYS or (k == "examples" and isinstance(v, list)):
                continue
            refs_parsed(v, out)
    elif isinstance(value, list):
        for v in value:
            refs_parsed(v, out)


def refs_of(path):
    """The `$ref` strings of a file: parsed (JSON, or YAML when PyYAML is installed), else found in
    the text by a pattern (which also counts the rare `$ref` inside an example)."""
    text = open(path, encoding="utf-8", errors="replace").read()
    try:
        if path.endswith(".json"):
            doc = json.loads(text)
        else:
            import yaml  # optional: the pattern below is the fallback

            doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        out = []
        refs_parsed(doc, out)
        return out
    except Exception:
        return [next(g for g in m.groups() if g is not None) for m in REF.finditer(text)]


def specsize(spec):
    """Bytes of a spec and of every local file its `$ref`s reach (URLs are not followed)."""
    from urllib.parse import unquote

    root = os.path.realpath(spec)
    seen, todo = {root}, [root]
    while todo:
        path = todo.pop()
        for r in refs_of(path):
            target = r.split("#", 1)[0]
            if not target or re.match(r"(?i)https?://", target):
                continue
            found = os.path.realpath(os.path.join(os.path.dirname(path), unquote(target)))
            if found not in seen and os.path.isfile(found):
                seen.add(found)
                todo.append(found)
    print(f"{sum(os.path.getsize(p) for p in seen)} {len(seen)}")


def uncache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


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
    elif cmd == "cpu":
        cpu(rest[0])
    elif cmd == "wrk":
        wrk(rest[0])
    elif cmd == "get":
        get(rest[0])
    elif cmd == "specsize":
        specsize(rest[0])
    elif cmd == "uncache":
        uncache(rest[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

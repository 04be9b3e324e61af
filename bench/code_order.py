#!/usr/bin/env python3
"""Writes build/code-order.txt: the release binary's functions in the order the linker lays them out.

    python3 bench/code_order.py [--bin target/release/specbox [--bin ...]] [--out build/code-order.txt]
    python3 bench/code_order.py --check [--bin ...]      how much of the list a build still has

Why: the kernel maps a program's code 64 kB at a time around each page it faults in (fault-around),
and a link without an order scatters the ~2 MB of code that startup runs across nearly all of the
13 MB of text. A small spec's idle RSS was therefore mostly code pages, most of which nothing had
run (10 MB of 13 resident; bench/RESULTS.md, session 19). Listing the functions that starting and
serving run first packs what a small spec's start runs into about 2.5 MB; build.rs hands the list
to the linker (--symbol-ordering-file) in release builds whose linker takes it.

How: each workload below runs the release binary under valgrind's callgrind, which names every
function that executed (no sampling, so a function run once is seen). The functions are written
in three tiers:
  1. what starting on each of the OpenAPI Initiative's small examples (tests/corpus/oai/) and
     answering its health check runs: what every start runs, and almost all of a small spec's
     idle RSS;
  2. then what starting on the bundled specs and fixtures and answering bench/run.sh's requests
     runs (the benchmark's hot path);
  3. then what starting on the other corpus specs runs (Adyen, Twilio, Square, DigitalOcean...).
Within a tier, functions keep the order the given binary has them in. In a build made with
SPECBOX_CODE_ORDER=off that is the compiler's own order, which keeps a module's functions
together; in a build made with a list it is that list's order, so a list written again moves only
what changed.

The names are the linker's (mangled, with a hash). The hash comes from the crate's build
metadata, which includes the compiler's version, and for a generic function from the crate that
instantiates it; LTO's extra copies of a function are numbered (name.12345, about 4% of the
names), and most changes to the code renumber them. So the list goes stale in three ways: those
numbered copies at nearly every change to src/ (one change in session 19 lost 86 of them, and
tictactoe's idle RSS went from 8.2 to 10.0 MB), the other names slowly as the code changes, and
almost all of them at a new Rust release (only the C functions' names survive it). A name the
build lacks is skipped and that function laid out as without an order. `--check` says how much of
the list a build still has. Run this again before a release, after a toolchain upgrade, or when
bench/corpus.sh shows the small specs' RSS creeping up; the list's first line records the
toolchain it was made with.

The Docker image's build (`--target x86_64-unknown-linux-gnu`, `+crt-static`) names the same
functions with other hashes; to order it too, build it the same way and give both binaries:

    cargo build --release
    RUSTFLAGS='-C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"' \
        CARGO_TARGET_DIR=target/static cargo build --release --target x86_64-unknown-linux-gnu
    python3 bench/code_order.py --bin target/release/specbox \
        --bin target/static/x86_64-unknown-linux-gnu/release/specbox

Each build then finds its own names in the list and skips the other's.

Needs valgrind (apt-get install valgrind) and a release build. About 40 s per binary.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AP_TOKEN = ("POST", "/oauth/token", {"Content-Type": "application/x-www-form-urlencoded"},
            b"grant_type=client_credentials&client_id=sandbox_client&client_secret=sandbox_secret")


def workloads():
    corpus = os.path.join(ROOT, "tests", "corpus")
    small = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(corpus, "oai"))
                   for f in fs if f.endswith((".yaml", ".json")))
    for spec in small:
        yield 1, os.path.relpath(spec, corpus), [spec, "--fixtures", "/nonexistent"], None
    yield 2, "bundled specs and fixtures, the benchmark's requests", \
        [os.path.join(ROOT, "specs"), "--fixtures", os.path.join(ROOT, "fixtures")], bundled_requests
    for spec in ["adyen/CheckoutService-v71.json", "adyen/Webhooks-v1.json", "twilio/twilio_api_v2010.json",
                 "square/api.json", "digitalocean/specification/DigitalOcean-public.v2.yaml",
                 "scalar/galaxy-3.1.yaml", "swagger-petstore/openapi.yaml"]:
        yield 3, spec, [os.path.join(corpus, spec), "--fixtures", "/nonexistent"], None


def freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, headers=None, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def bundled_requests(port):
    import json
    _, token = call(port, *AP_TOKEN)
    auth = {"Authorization": "Bearer " + json.loads(token)["access_token"]}
    _, page = call(port, "GET", "/customers?limit=20", auth)
    first = json.loads(page)["data"][0]["id"]
    call(port, "GET", f"/customers/{first}", auth)
    js = dict(auth, **{"Content-Type": "application/json"})
    call(port, "POST", "/customers", js, b'{"name":"Order run","email":"order-run@example.com"}')
    call(port, "POST", "/customers", js, b'{"name": 42}')
    call(port, "GET", "/api/v1/customers?page=2&per_page=20", {"Authorization": "Bearer sk_test_bench"})
    call(port, "GET", "/no/such/route")


def run(binary, args, requests, out):
    port = freeport()
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--compress-strings=no",
           "--demangle=no", "--dump-instr=no", binary, *args, "--port", str(port), "--log", "warn"]
    # The server's and valgrind's messages go to a file: a pipe nobody reads would fill and stall
    # the server on a spec with many warnings.
    with open(out + ".log", "w+b") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)

        def fail(why):
            proc.kill()
            proc.wait()
            log.seek(0)
            sys.exit(f"code_order: {' '.join(args)} {why}:\n{log.read().decode(errors='replace')[-2000:]}")

        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                fail("exited early")
            try:
                if call(port, "GET", "/__specbox/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                fail("did not answer within 600 s")
            time.sleep(0.2)
        if requests:
            requests(port)
        time.sleep(1)  # the idle server's timers, as bench/corpus.sh waits before it reads the RSS
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            fail("did not stop within 600 s of SIGINT")
    return executed(out, os.path.basename(binary))


def executed(callgrind_out, object_name):
    """The mangled names of the functions of `object_name` that ran. Every function that ran has
    a cost block of its own (`fn=`), under the object it belongs to (`ob=`)."""
    names, ob = set(), None
    with open(callgrind_out) as f:
        for line in f:
            if line.startswith("ob="):
                ob = line[3:].strip()
            elif line.startswith("fn=") and ob and os.path.basename(ob) == object_name:
                # callgrind marks a recursion's levels name'2, name'3
                names.add(re.sub(r"'\d+$", "", line[3:].strip()))
    return names


def default_bin():
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "specbox")


def check(bins, listed):
    """How much of the list each binary still has: the names it lacks are laid out as without a list."""
    with open(listed) as f:
        names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    for binary in bins:
        out = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
        have = {parts[2] for parts in (line.split() for line in out.splitlines()) if len(parts) == 3}
        found = sum(1 for n in names if n in have)
        # LTO's numbered copies of a function (name.12345) are renumbered by most code changes.
        numbered = [n for n in names if re.search(r"\.\d+$", n)]
        print(f"{binary}: {found} of the list's {len(names)} names; of its {len(numbered)} numbered copies, "
              f"{sum(1 for n in numbered if n in have)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", action="append",
                    help="a release build to run (default target/release/specbox); give it again for another "
                         "build whose names differ, such as the Docker image's (--target, +crt-static)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "code-order.txt"))
    ap.add_argument("--check", action="store_true",
                    help="only say how many of the list's names each binary has (no valgrind)")
    a = ap.parse_args()
    if a.check:
        check(a.bin or [default_bin()], a.out)
        return
    bins = a.bin or [default_bin()]
    tiers = {1: {}, 2: {}, 3: {}}  # name: (which binary, its address there)
    for b, binary in enumerate(bins):
        if not os.path.isfile(binary):
            sys.exit(f"code_order: no release binary at {binary} (cargo build --release)")
        print(f"{binary}:", file=sys.stderr)
        address = {}
        for line in subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                address.setdefault(parts[2], int(parts[0], 16))
        with tempfile.TemporaryDirectory() as tmp:
            for i, (tier, name, args, requests) in enumerate(workloads()):
                t0 = time.monotonic()
                ran = run(binary, args, requests, os.path.join(tmp, f"cg.{i}"))
                for f in ran:
                    if f in address:
                        tiers[tier].setdefault(f, (b, address[f]))
                print(f"  {name}: {len(ran)} functions ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
    placed, lines = set(), []
    for tier in (1, 2, 3):
        for name in sorted(set(tiers[tier]) - placed, key=lambda n: tiers[tier][n]):
            lines.append(name)
        placed |= set(tiers[tier])
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip() or "rustc ?"
    with open(a.out, "w") as f:
        # lld reads "#" to the end of a line as a comment.
        f.write(f"# written by bench/code_order.py from builds of {rustc}\n")
        f.write("\n".join(lines) + "\n")
    print(f"code_order: {len(lines)} functions ({len(tiers[1])} in tier 1) written to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

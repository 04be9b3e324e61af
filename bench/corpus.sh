#!/usr/bin/env bash
# specbox startup benchmark over real specs: for every spec of tests/corpus/ and a generated spec
# of about 13 MB and 1,200 operations, the median startup time, the idle RSS after startup, the
# spec's size on disk, and each against its target, as a table. Everything on 127.0.0.1.
#
#   bench/corpus.sh                          every corpus spec and the generated one, 5 starts each
#   bench/corpus.sh tests/corpus/square/api.json     only the specs named
#   BENCH_STARTUP_RUNS=11 bench/corpus.sh    more starts per spec
#
# Environment:
#   BENCH_STARTUP_RUNS  starts per spec (default 5); the median startup and the median idle RSS
#                       are reported
#   BENCH_IDLE_WAIT     seconds between answering and reading the idle RSS (default 1)
#   BENCH_SERVER_CPU    core the server is pinned to (default 0)
#   BENCH_LOAD_CPU      core the readiness poller is pinned to (default 1)
#   BENCH_PIN           1 (default): pin as above, which steadies the figures; 0: pin nothing, so
#                       the server may use every core, as a user's does (startup checks schemas on
#                       a second thread beside the build, which one pinned core cannot show)
#   BENCH_UNCACHE       1 (default): drop the binary from the page cache before each spec, so that
#                       every build and every spec is measured from the same state; 0: leave it
#   BENCH_SPECBOX       a specbox binary to measure instead of building one (to compare two
#                       builds, run the script once with each)
#   CARGO_TARGET_DIR    where cargo builds (default ./target)
#
# Startup: from exec to the first 200 from /__specbox/health (the server logs "listening on"
# just before it accepts), release build, `--fixtures` pointing nowhere, one spec per server, as
# bench/run.sh measures it. Beside it, the CPU time the process had used by then (user + system,
# from /proc, in steps of 10 ms): on a shared machine the wall time moves with the other tenants'
# load, the CPU time much less. Idle RSS: VmRSS once the server has answered and BENCH_IDLE_WAIT
# seconds passed with no request; VmHWM (the peak) is shown beside it. About 12 MB of it is the
# binary's own pages, and how many of those are mapped depends on the page cache: a binary just
# built or copied is wholly cached, and the kernel's fault-around then maps up to 1.5 MB more of it
# than a binary whose pages were read as it ran (BENCH_UNCACHE). Size on disk: the spec file
# and every file its `$ref`s reach (DigitalOcean's spec is about 2,900 files), in bytes.
#
# Targets (the issue): startup under 300 ms; idle RSS at most 15 MB + 4 x the size on disk.
# MB here is 2^20 bytes throughout (sizes, RSS and targets alike), as /proc reports memory.
#
# The generated spec is `bench/gen_large_spec.py --realistic` (bench/out/realistic.json, made again
# when the generator changed). Results go to bench/out/corpus.txt, logs to bench/out/logs/.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=bench/out
mkdir -p "$OUT/logs"

RUNS=${BENCH_STARTUP_RUNS:-5}
IDLE_WAIT=${BENCH_IDLE_WAIT:-1}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
PIN=${BENCH_PIN:-1}
UNCACHE=${BENCH_UNCACHE:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
for v in RUNS IDLE_WAIT SERVER_CPU LOAD_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a whole number (got ${!v})" >&2; exit 2; }
done
[[ $PIN == 0 || $PIN == 1 ]] || { echo "bench: BENCH_PIN must be 0 or 1 (got $PIN)" >&2; exit 2; }
[[ $UNCACHE == 0 || $UNCACHE == 1 ]] || { echo "bench: BENCH_UNCACHE must be 0 or 1 (got $UNCACHE)" >&2; exit 2; }
((RUNS >= 1 && RUNS <= 50)) || { echo "bench: BENCH_STARTUP_RUNS must be 1..50" >&2; exit 2; }
((IDLE_WAIT <= 60)) || { echo "bench: BENCH_IDLE_WAIT must be 0..60" >&2; exit 2; }

PY=${PYTHON:-python3}
UTIL="$PY bench/util.py"
RESULTS="$OUT/corpus.txt"
STARTUP_TARGET_MS=300
log() { printf '%s\n' "$*" >&2; }

NCPU=$(nproc)
if ((PIN == 1 && NCPU >= 2)) && ((SERVER_CPU < NCPU && LOAD_CPU < NCPU && SERVER_CPU != LOAD_CPU)); then
    ON_SERVER=(taskset -c "$SERVER_CPU")
    ON_LOAD=(taskset -c "$LOAD_CPU")
    PINNING="server on core $SERVER_CPU, readiness poller on core $LOAD_CPU"
else
    ON_SERVER=()
    ON_LOAD=()
    PINNING="not pinned ($NCPU core(s))"
fi

# Every server started is stopped on exit, whatever happens.
PID=""
stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do # 10 s
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
trap '[[ -n $PID ]] && stop "$PID"' EXIT
trap 'exit 130' INT TERM

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

if (($# > 0)); then
    SPECS=("$@")
else
    SPECS=(
        tests/corpus/adyen/CheckoutService-v71.json
        tests/corpus/adyen/Webhooks-v1.json
        tests/corpus/twilio/twilio_api_v2010.json
        tests/corpus/square/api.json
        tests/corpus/digitalocean/specification/DigitalOcean-public.v2.yaml
    )
    while IFS= read -r f; do SPECS+=("$f"); done < <(find tests/corpus/oai -name '*.yaml' -o -name '*.json' | sort)
    SPECS+=("$OUT/realistic.json")
fi

if [[ -n ${BENCH_SPECBOX:-} ]]; then
    SPECBOX=$(realpath "$BENCH_SPECBOX")
    [[ -x $SPECBOX ]] || { echo "bench: BENCH_SPECBOX: $BENCH_SPECBOX is not an executable" >&2; exit 2; }
else
    log "bench: building (release)"
    cargo build --release --bin specbox >"$OUT/logs/build-corpus.log" 2>&1 ||
        { tail -30 "$OUT/logs/build-corpus.log" >&2; exit 1; }
    SPECBOX="$TARGET_DIR/release/specbox"
fi

if [[ " ${SPECS[*]} " == *" $OUT/realistic.json "* ]] &&
    [[ ! -f $OUT/realistic.json || bench/gen_large_spec.py -nt $OUT/realistic.json ]]; then
    log "bench: generating $OUT/realistic.json (not timed)"
    timeout 300 $PY bench/gen_large_spec.py --realistic "$OUT/realistic.json" >&2
fi

{
    if [[ -n ${BENCH_SPECBOX:-} ]]; then
        echo "specbox startup over the corpus, $(date -u '+%Y-%m-%d %H:%M UTC'), binary $BENCH_SPECBOX"
    else
        echo "specbox startup over the corpus, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (uncommitted changes in src/)')"
    fi
    echo "$NCPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $PINNING"
    # How much of build/code-order.txt the binary has (a stale list shows as small specs' RSS).
    if command -v nm >/dev/null && command -v python3 >/dev/null; then
        echo "code order: $(python3 bench/code_order.py --check --bin "$SPECBOX" 2>/dev/null | sed 's/^[^:]*: //')"
    fi
    echo "$RUNS start(s) per spec, median reported; idle RSS read ${IDLE_WAIT} s after the first answer; $( ((UNCACHE == 1)) && echo "binary dropped from the page cache before each spec" || echo "page cache left as it is"); load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    printf '%-52s %5s %8s | %8s %7s %7s | %7s %7s %7s | %7s\n' spec ops "size MB" "start ms" "CPU ms" target "RSS MB" target "" "peak MB"
} >"$RESULTS.tmp"
cat "$RESULTS.tmp" >&2

for spec in "${SPECS[@]}"; do
    [[ -f $spec ]] || { log "bench: no such spec: $spec"; exit 2; }
    name=${spec#tests/corpus/}
    name=${name#"$OUT/"}
    name=${name/digitalocean\/specification\//digitalocean\/}
    read -r bytes files < <($UTIL specsize "$spec")
    starts=() cpus=() rss=() peaks=() ops="?"
    logfile="$OUT/logs/corpus-$(printf '%s' "$name" | tr -cs 'A-Za-z0-9' '-' | sed 's/-$//').log"
    # Every spec starts from the same page cache: the binary's pages dropped, so a run maps what
    # it reads (and the kernel's readahead around it). A just-built binary is wholly in the page
    # cache, and fault-around then maps up to 1.5 MB more of it, which decided specs near their line.
    ((UNCACHE == 1)) && $UTIL uncache "$SPECBOX"
    for ((i = 0; i < RUNS; i++)); do
        port=$($UTIL freeport)
        out=$(${ON_LOAD[@]+"${ON_LOAD[@]}"} $UTIL start "$port" 300 "$logfile" -- \
            ${ON_SERVER[@]+"${ON_SERVER[@]}"} "$SPECBOX" "$spec" --host 127.0.0.1 --port "$port" \
            --fixtures "$OUT/no-fixtures" --log info) || { log "bench: $spec did not start (log: $logfile)"; exit 1; }
        PID=${out%% *}
        starts+=("${out##* }")
        cpus+=("$($UTIL cpu "$PID")")
        sleep "$IDLE_WAIT"
        read -r r p < <($UTIL mem "$PID")
        rss+=("$r") peaks+=("$p")
        stop "$PID"
        PID=""
        ops=$(sed -n 's/.*(\([0-9]*\) operations).*/\1/p' "$logfile" | head -1)
    done
    start_ms=$(printf '%s\n' "${starts[@]}" | median)
    cpu_ms=$(printf '%s\n' "${cpus[@]}" | median)
    rss_mb=$(printf '%s\n' "${rss[@]}" | median)
    peak_mb=$(printf '%s\n' "${peaks[@]}" | median)
    awk -v name="$name" -v ops="${ops:-?}" -v bytes="$bytes" -v files="$files" -v ms="$start_ms" -v cpu="$cpu_ms" \
        -v rss="$rss_mb" -v peak="$peak_mb" -v tms="$STARTUP_TARGET_MS" 'BEGIN {
        size = bytes / 1048576; trss = 15 + 4 * size
        sname = name (files > 1 ? " (" files " files)" : "")
        printf "%-52s %5s %8.2f | %8.1f %7d %7s | %7.1f %7.1f %7s | %7.1f\n", sname, ops, size, ms, cpu,
            (ms < tms ? "met" : "MISSED"), rss, trss, (rss <= trss ? "met" : "MISSED"), peak
    }' | tee -a "$RESULTS.tmp" >&2
done
{
    echo
    echo "size: the spec and every file its \$refs reach; targets: startup < ${STARTUP_TARGET_MS} ms, idle RSS <= 15 + 4 x size (MB = 2^20 bytes)"
} >>"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
echo
cat "$RESULTS"
log "bench: results in $RESULTS, logs in $OUT/logs/"

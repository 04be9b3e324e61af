#!/usr/bin/env bash
# Builds and runs specbox's fuzz targets with cargo-fuzz (libFuzzer), each for a bounded time.
#
#   fuzz/run.sh                      # every target, FUZZ_SECONDS (default 60) each
#   FUZZ_SECONDS=600 fuzz/run.sh request spec_load
#   fuzz/run.sh repro                # replay regressions/<target>/*: known findings, one
#                                    # input each; says which still crash (exit 1 if any)
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_JOBS       parallel libFuzzer workers per target (default 1; the machine has 2 cores)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default none: specbox is safe Rust, and without ASan
#                   the targets run several times faster; use "address" to check unsafe deps)
#   FUZZ_NICE       nice level for the build and the runs (default 10)
#
# Only stable Rust is installed here, and cargo-fuzz passes nightly-only flags (-Z...) to rustc.
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept them. It is set for this script only.
#
# Corpora: corpus/<target>/ holds the small committed seeds (read-only here); what libFuzzer
# discovers goes to work/<target>/ (git-ignored), so later runs start from it. Crashes land in
# artifacts/<target>/ (git-ignored); reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a <target> artifacts/<target>/<file>
# and minimise it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s none -a <target> artifacts/<target>/<file>
#
# Exit status: 0 when no target crashed, 1 when any did (the summary names the artifacts).
set -uo pipefail

cd "$(dirname "$0")"
FUZZ_DIR=$(pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
SANITIZER=${FUZZ_SANITIZER:-none}
NICE=${FUZZ_NICE:-10}
ALL_TARGETS=(spec_load request cursor fixtures form_and_coerce)
MODE=fuzz
if [ "${1:-}" = repro ]; then MODE=repro; shift; fi
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

export RUSTC_BOOTSTRAP=1

# libFuzzer options per target: -max_len fits the inputs (the bundled specs are ~25 KB),
# -timeout flags a single input slower than this many seconds as a hang.
opts_for() {
    case "$1" in
        spec_load) echo "-max_len=32768 -timeout=20 -dict=$FUZZ_DIR/dict/openapi.dict" ;;
        request) echo "-max_len=4096 -timeout=10" ;;
        cursor) echo "-max_len=256 -timeout=5" ;;
        fixtures) echo "-max_len=8192 -timeout=20" ;;
        form_and_coerce) echo "-max_len=2048 -timeout=5" ;;
        *) echo "" ;;
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (crates.io)"
    nice -n "$NICE" cargo install --locked cargo-fuzz || {
        echo "cannot install cargo-fuzz" >&2
        exit 2
    }
fi

# libfuzzer-sys compiles libFuzzer (C++): it needs a C++ compiler.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    echo "no C++ compiler: apt-get install g++" >&2
    exit 2
fi

echo "== building ${TARGETS[*]} (sanitizer: $SANITIZER, debug assertions on)"
for t in "${TARGETS[@]}"; do
    nice -n "$NICE" cargo fuzz build -s "$SANITIZER" --debug-assertions "$t" || exit 2
done

if [ "$MODE" = repro ]; then
    # Each file is run once; a crash, an OOM (e.g. a $ref to /dev/zero) or a hang fails it.
    mkdir -p work
    STILL=0
    for t in "${TARGETS[@]}"; do
        [ -d "regressions/$t" ] || continue
        for f in regressions/"$t"/*; do
            if nice -n "$NICE" cargo fuzz run -s "$SANITIZER" --debug-assertions "$t" "$f" -- \
                -runs=1 -rss_limit_mb=1024 -timeout=30 >"work/repro.log" 2>&1; then
                echo "fixed:   $f"
            else
                STILL=1
                why=$(grep -hE "panicked at|attempt to|ERROR: libFuzzer|overflowed its stack|deadly signal|exited with signal" work/repro.log | head -2 | tr '\n' ' ')
                echo "CRASHES: $f  ${why}"
            fi
        done
    done
    exit "$STILL"
fi

mkdir -p work artifacts
SUMMARY=()
FAILED=0
for t in "${TARGETS[@]}"; do
    mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
    log="work/$t.log"
    before=$(ls "artifacts/$t" | wc -l)
    echo "== $t: ${SECONDS_EACH}s"
    # -jobs (even 1) makes libFuzzer fork workers that log to fuzz-<n>.log: only when asked.
    parallel=""
    if [ "$JOBS" -gt 1 ]; then parallel="-jobs=$JOBS -workers=$JOBS"; fi
    # shellcheck disable=SC2046
    nice -n "$NICE" cargo fuzz run -s "$SANITIZER" --debug-assertions "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        $(opts_for "$t") $parallel >"$log" 2>&1
    status=$?
    # With -jobs, each worker logs to fuzz-<n>.log in the current directory.
    if [ "$JOBS" -gt 1 ]; then cat fuzz-*.log >>"$log" 2>/dev/null; rm -f fuzz-*.log; fi
    execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}')
    rate=$(grep -h 'stat::average_exec_per_sec' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -hoE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    new=$(( $(ls "artifacts/$t" | wc -l) - before ))
    line="$t: ${execs} execs, ${rate} exec/s, cov ${cov:-?}, corpus $(ls "work/$t" | wc -l), exit $status"
    if [ "$status" -ne 0 ] || [ "$new" -gt 0 ]; then
        FAILED=1
        line="$line, CRASH (log: fuzz/$log)"
        grep -hE "panicked at|^SUMMARY|Test unit written to" "$log" | head -5 | sed 's/^/    /'
        for a in $(ls -t "artifacts/$t" | head -"$((new > 0 ? new : 1))"); do line="$line
    artifact: fuzz/artifacts/$t/$a"; done
    fi
    echo "$line"
    SUMMARY+=("$line")
done

echo
echo "== summary (${SECONDS_EACH}s per target)"
printf '%s\n' "${SUMMARY[@]}"
exit "$FAILED"

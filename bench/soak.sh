#!/usr/bin/env bash
# Soak run (issue #7): SOAK_SECONDS (default 60) of mixed load from bench/soak.py against a release
# specbox with --chaos-rate 0.05 --seed 7 --journal-size 500, then the checks soak.py describes.
#
#   bench/soak.sh                       # 60 s
#   SOAK_SECONDS=20 bench/soak.sh       # shorter
#
# Environment: SOAK_SECONDS (60 s of mixed load), SOAK_STEADY_SECONDS (15 s of reads only afterwards,
# where nothing new is stored and RSS must stay flat; 0 skips it), SOAK_WORKERS (8),
# SOAK_BUILD_TIMEOUT (1800 s for cargo build), SOAK_BIN (a specbox binary to soak instead of building).
# Output in bench/out/: summary.txt, summary.json, rss.csv, exchanges.jsonl.gz, specbox.log.
# Exit 0 when every check passed, 1 when soak.py reports a failure, 2 when the run could not happen.
set -uo pipefail

cd "$(dirname "$0")/.."
OUT=bench/out
SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_STEADY_SECONDS=${SOAK_STEADY_SECONDS:-15}
SOAK_WORKERS=${SOAK_WORKERS:-8}
SOAK_BUILD_TIMEOUT=${SOAK_BUILD_TIMEOUT:-1800}
JOURNAL_SIZE=500
CHAOS_RATE=0.05
SEED=7
mkdir -p "$OUT"

die() { echo "soak.sh: $*" >&2; exit 2; }

# 1. Release build (SOAK_BIN=path soaks a binary built elsewhere instead).
if [ -n "${SOAK_BIN:-}" ]; then
    BIN=$SOAK_BIN
else
    echo "soak.sh: cargo build --release" >&2
    timeout "$SOAK_BUILD_TIMEOUT" cargo build --release || die "cargo build --release failed"
    BIN=target/release/specbox
fi
[ -x "$BIN" ] || die "$BIN is missing"

# 2. Python venv with pinned checkers (rfc3339-validator lets FormatChecker check date-time).
VENV=$OUT/venv
PINS="jsonschema==4.26.0 referencing==0.37.0 pyyaml==6.0.3 rfc3339-validator==0.1.4"
if [ ! -x "$VENV/bin/python" ]; then
    echo "soak.sh: creating $VENV" >&2
    timeout 120 python3 -m venv "$VENV" || die "python3 -m venv failed"
fi
if [ "$(cat "$VENV/.soak-pins" 2>/dev/null)" != "$PINS" ]; then
    echo "soak.sh: installing $PINS into $VENV" >&2
    # shellcheck disable=SC2086
    timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS || die "pip install failed"
    echo "$PINS" > "$VENV/.soak-pins"
fi

# 3. specbox on a free port, with chaos.
LOG=$OUT/specbox.log
"$BIN" specs --fixtures fixtures --host 127.0.0.1 --port 0 \
    --chaos-rate "$CHAOS_RATE" --seed "$SEED" --journal-size "$JOURNAL_SIZE" 2> "$LOG" &
PID=$!
stop_server() {
    if kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 1 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null
    fi
    wait "$PID" 2>/dev/null
}
trap stop_server EXIT
trap 'exit 130' INT TERM

ADDR=
for _ in $(seq 1 300); do
    ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$LOG" | head -n 1)
    [ -n "$ADDR" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; die "specbox exited at startup"; }
    sleep 0.1
done
[ -n "$ADDR" ] || { cat "$LOG" >&2; die "specbox did not say where it listens within 30 s"; }
echo "soak.sh: specbox pid $PID on http://$ADDR (chaos $CHAOS_RATE, seed $SEED, journal $JOURNAL_SIZE)" >&2

# 4. The soak, bounded: the load, then the final checks and validation.
timeout $(( ${SOAK_SECONDS%.*} + ${SOAK_STEADY_SECONDS%.*} + 900 )) "$VENV/bin/python" bench/soak.py \
    --base "http://$ADDR" --pid "$PID" --seconds "$SOAK_SECONDS" --steady-seconds "$SOAK_STEADY_SECONDS" --workers "$SOAK_WORKERS" \
    --journal-size "$JOURNAL_SIZE" --chaos-rate "$CHAOS_RATE" --seed "$SEED" --out "$OUT"
RC=$?
if ! kill -0 "$PID" 2>/dev/null; then
    echo "soak.sh: specbox is no longer running at the end of the soak" >&2
    tail -n 20 "$LOG" >&2
    RC=1
fi
if grep -qi 'panic' "$LOG"; then
    echo "soak.sh: specbox logged a panic:" >&2
    grep -i -m 5 -A 3 'panic' "$LOG" >&2
    RC=1
fi
case $RC in
    0) echo "soak.sh: PASS" >&2 ;;
    124) echo "soak.sh: soak.py timed out" >&2; RC=1 ;;
    *) echo "soak.sh: FAIL (soak.py exit $RC; see $OUT/summary.txt)" >&2; RC=1 ;;
esac
exit $RC

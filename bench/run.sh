#!/usr/bin/env bash
# specbox benchmark: throughput and latency of typical requests next to a bare hyper server driven by
# the same load generator, startup time, memory. Everything on 127.0.0.1.
#
#   bench/run.sh                      3 rounds of 5 s per scenario
#   BENCH_SECONDS=2 BENCH_ROUNDS=1 bench/run.sh      a quick run
#
# Environment:
#   BENCH_SECONDS      seconds per load run (default 5)
#   BENCH_ROUNDS       runs of each scenario, interleaved with the others; the median run is
#                      reported (default 3). On a shared machine throughput drifts by tens of
#                      percent over a minute, so scenarios compared with each other (specbox and
#                      the baseline, a 10k list and a 1M list) are measured in alternation, never
#                      one after the other.
#   BENCH_CONNECTIONS  concurrent connections (default 32)
#   BENCH_SERVER_CPU   core the servers are pinned to (default 0)
#   BENCH_LOAD_CPU     core the load generator is pinned to (default 1)
#   BENCH_STARTUP_RUNS startups timed per spec set, median reported (default 5)
#   BENCH_SIZES        list sizes to load, among 10k and 1m (default "10k 1m"); 1m needs a lot of
#                      memory (about 2 GB of RSS at the time of writing)
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
#   BENCH_REDIS        1 (default): after the memory scenarios, the Redis store's (bench/redis.sh:
#                      GET one, create, a page of 20 of 100,000 customers, on one and on two
#                      replicas, next to the memory store in the same rounds); 0: skip them;
#                      only: run those alone. Needs redis-server (installed with apt-get as root
#                      when missing) and a specbox with --store: without it, the run stops at once.
#   BENCH_REDIS_CPU    core redis-server is pinned to (default BENCH_SERVER_CPU)
#
# Load generator: wrk (-t1, pinned to its own core); if it is missing, `apt-get install -y wrk` is
# tried (as root), then oha (`cargo install oha`). Generated data (fixtures with 10,000 and 1,000,000
# customers, a ~5 MB spec), logs and results go to bench/out/ (git-ignored); the fixtures are only
# regenerated when missing or when gen_fixtures.py changed.
#
# Scenarios (servers' own data, so every request is answered as expected: checked before timing):
#   baseline            bare hyper (examples/baseline.rs), fixed body of the GET-one response's size
#   get one             GET /customers/{id} (Alternative Payments, OAuth2 bearer token)
#   create              POST /customers, a new email per request (bench/create.lua)
#   422 validation      POST /customers {"name": 42}
#   list first page     GET /customers?limit=20 (AP, cursor) over 10k / 1M customers
#   list deep page      GET /api/v1/customers?page=N/40&per_page=20 (SwissPay, page) over 10k / 1M
# Startup: process start to the first 200 from /__specbox/health (bundled specs, large spec, and
# loading the 10k / 1M fixtures). Memory: RSS when idle on the bundled specs, RSS after loading 1M
# customers per spec, peak RSS (VmHWM) after the 1M list scenarios, and RSS with 1M customers in
# all (one spec's fixtures).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=bench/out
mkdir -p "$OUT/logs"

SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-32}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-5}
SIZES=${BENCH_SIZES:-10k 1m}
REDIS_MODE=${BENCH_REDIS:-1}
[[ $REDIS_MODE == 0 || $REDIS_MODE == 1 || $REDIS_MODE == only ]] || { echo "bench: BENCH_REDIS must be 0, 1 or only" >&2; exit 2; }
for size in $SIZES; do
    [[ $size == 10k || $size == 1m ]] || { echo "bench: BENCH_SIZES: unknown size $size (10k, 1m)" >&2; exit 2; }
done
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
for v in SECS ROUNDS CONNS SERVER_CPU LOAD_CPU STARTUP_RUNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a whole number (got ${!v})" >&2; exit 2; }
done
((SECS >= 1 && SECS <= 600)) || { echo "bench: BENCH_SECONDS must be 1..600" >&2; exit 2; }
((ROUNDS >= 1 && ROUNDS <= 20)) || { echo "bench: BENCH_ROUNDS must be 1..20" >&2; exit 2; }
((STARTUP_RUNS >= 1 && STARTUP_RUNS <= 50)) || { echo "bench: BENCH_STARTUP_RUNS must be 1..50" >&2; exit 2; }

PY=${PYTHON:-python3}
UTIL="$PY bench/util.py"
RESULTS="$OUT/results.txt"
TABLE="$OUT/results.tsv"
: >"$TABLE"

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Servers: every one started is remembered and stopped on exit, whatever happens.
PIDS=()
stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do # 10 s
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do stop "$pid"; done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Pinning: servers on one core, the load generator on another (when there are two).
NCPU=$(nproc)
if ((NCPU >= 2)) && ((SERVER_CPU < NCPU && LOAD_CPU < NCPU && SERVER_CPU != LOAD_CPU)); then
    ON_SERVER=(taskset -c "$SERVER_CPU")
    ON_LOAD=(taskset -c "$LOAD_CPU")
    PINNING="server on core $SERVER_CPU, load generator on core $LOAD_CPU"
else
    ON_SERVER=()
    ON_LOAD=()
    PINNING="not pinned ($NCPU core(s))"
    log "bench: warning: $NCPU core(s); server and load generator are not pinned apart"
fi

# start_server NAME PORT TIMEOUT CMD...: sets STARTED_PID and STARTED_MS; fails if CMD does not
# answer /__specbox/health within TIMEOUT seconds (it is then killed).
start_server() {
    local name=$1 port=$2 timeout=$3 out
    shift 3
    out=$(${ON_LOAD[@]+"${ON_LOAD[@]}"} $UTIL start "$port" "$timeout" "$OUT/logs/$name.log" -- \
        ${ON_SERVER[@]+"${ON_SERVER[@]}"} "$@") || { log "bench: $name did not start"; return 1; }
    STARTED_PID=${out%% *}
    STARTED_MS=${out##* }
    PIDS+=("$STARTED_PID")
}

stop_server() {
    local pid=$1 keep=() p
    stop "$pid"
    for p in ${PIDS[@]+"${PIDS[@]}"}; do [[ $p == "$pid" ]] || keep+=("$p"); done
    PIDS=(${keep[@]+"${keep[@]}"})
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# ---------------------------------------------------------------------------------------------
# Load generator.
if command -v wrk >/dev/null; then
    LOADGEN=wrk
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null && { apt-get install -y wrk >"$OUT/logs/apt.log" 2>&1 || { apt-get update >>"$OUT/logs/apt.log" 2>&1 && apt-get install -y wrk >>"$OUT/logs/apt.log" 2>&1; }; } && command -v wrk >/dev/null; then
    LOADGEN=wrk
elif command -v oha >/dev/null || { log "bench: installing oha (cargo install oha)"; cargo install oha --locked >"$OUT/logs/oha-install.log" 2>&1; }; then
    LOADGEN=oha
    export PATH="$HOME/.cargo/bin:$PATH"
else
    log "bench: no load generator: install wrk (apt-get install wrk) or oha (cargo install oha)"
    exit 1
fi

# load NAME URL [extra args]: one timed scenario; sets RPS P50 P99 TOTAL NON2XX ERRS.
#   extra args: -H 'Header: v' (repeatable), --script FILE [--arg A], --post BODY (oha only)
load() {
    local name=$1 url=$2 raw headers=() script="" arg="" post=""
    raw="$OUT/logs/load-$(printf '%s' "$name" | tr -cs 'A-Za-z0-9' '-' | sed 's/-$//').txt"
    shift 2
    while (($#)); do
        case $1 in
            -H) headers+=(-H "$2"); shift 2 ;;
            --script) script=$2; shift 2 ;;
            --arg) arg=$2; shift 2 ;;
            --post) post=$2; shift 2 ;;
            *) log "bench: load: unknown option $1"; exit 2 ;;
        esac
    done
    if [[ $LOADGEN == wrk ]]; then
        local cmd=(wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 5s --latency ${headers[@]+"${headers[@]}"})
        [[ -n $script ]] && cmd+=(-s "$script")
        cmd+=("$url")
        [[ -n $arg ]] && cmd+=(-- "$arg")
        timeout $((SECS + 60)) ${ON_LOAD[@]+"${ON_LOAD[@]}"} "${cmd[@]}" >"$raw" 2>&1 ||
            { log "bench: wrk failed for $name:"; cat "$raw" >&2; exit 1; }
        read -r RPS P50 P99 TOTAL NON2XX ERRS < <($UTIL wrk "$raw")
    else
        # oha has no scripting: the create scenario sends one fixed body (the Alternative Payments
        # spec has no unique rule on customers, so every request still creates one).
        local json_flag=(--output-format json)
        oha --help 2>/dev/null | grep -q -- --output-format || json_flag=(-j) # older oha
        local cmd=(oha -z "${SECS}s" -c "$CONNS" --no-tui "${json_flag[@]}" ${headers[@]+"${headers[@]}"})
        if [[ -n $post ]]; then cmd+=(-m POST -T application/json -d "$post"); fi
        cmd+=("$url")
        timeout $((SECS + 60)) ${ON_LOAD[@]+"${ON_LOAD[@]}"} "${cmd[@]}" >"$raw" 2>"$raw.err" ||
            { log "bench: oha failed for $name:"; cat "$raw.err" >&2; exit 1; }
        read -r RPS P50 P99 TOTAL NON2XX ERRS < <($PY - "$raw" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
total = sum(codes.values())
non2xx = sum(v for k, v in codes.items() if not k.startswith(("2", "3")))
errs = sum(d.get("errorDistribution", {}).values())
ms = lambda v: f"{v * 1000:.3f}" if v is not None else "nan"  # oha reports seconds
print(f'{s["requestsPerSec"]:.0f} {ms(p.get("p50"))} {ms(p.get("p99"))} {total} {non2xx} {errs}')
EOF
)
    fi
}

RUNS="$OUT/runs.tsv"
: >"$RUNS"
ROUND=0 # numbers every round of the run, so a scenario is compared with the baseline runs around it
# measure NAME EXPECTED_STATUS URL [load args]: one run of a scenario, kept in $RUNS.
#   EXPECTED_STATUS 2xx: every response must be 2xx/3xx; 4xx: every response must be one.
measure() {
    local name=$1 expect=$2 url=$3 note=""
    shift 3
    load "$name" "$url" "$@"
    if [[ $expect == 2xx && $NON2XX != 0 ]]; then note=" ($NON2XX of $TOTAL responses not 2xx!)"; fi
    if [[ $expect == 4xx && $NON2XX != "$TOTAL" ]]; then note=" ($((TOTAL - NON2XX)) of $TOTAL responses not 4xx/5xx!)"; fi
    if [[ $ERRS != 0 ]]; then note="$note ($ERRS socket errors)"; fi
    log "  $(printf '%-44s %8s req/s' "$name" "$RPS")$note"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$RPS" "$P50" "$P99" "$note" "$ROUND" >>"$RUNS"
}

# ratio A B: the median over rounds of A's req/s against B's. Every specbox run is bracketed by
# baseline runs (baseline, scenario, baseline, scenario, ..., baseline), and a run counts as its
# req/s over the mean of the two baseline runs around it: on a shared machine, throughput drifts
# by tens of percent within a minute, and a baseline measured half a minute earlier says little.
# With B the baseline, that is the ratio; otherwise (1M against 10k) the ratio of the two.
ratio() {
    awk -F'\t' -v a="$1" -v b="$2" -v base="$BASELINE_NAME" '
        {name[NR] = $1; rps[NR] = $2; round[NR] = $6}
        END {
            for (i = 1; i <= NR; i++) {
                if (name[i] == base) continue
                s = 0; k = 0
                for (j = i - 1; j >= 1 && round[j] == round[i]; j--) if (name[j] == base) {s += rps[j]; k++; break}
                for (j = i + 1; j <= NR && round[j] == round[i]; j++) if (name[j] == base) {s += rps[j]; k++; break}
                if (k > 0 && s > 0) norm[name[i], round[i]] = rps[i] / (s / k)
            }
            if (a == base && b == base) {print "1.00"; exit}
            n = 0
            for (key in norm) {
                split(key, parts, SUBSEP)
                if (parts[1] != a) continue
                r = parts[2]
                if (b == base) v[++n] = norm[key]
                else if (((b, r) in norm) && norm[b, r] > 0) v[++n] = norm[key] / norm[b, r]
            }
            if (n == 0) {print "n/a"; exit}
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {t = v[j]; v[j] = v[j - 1]; v[j - 1] = t}
            printf "%.2f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }' "$RUNS"
}

# report NAME: the median run of a scenario (by req/s, with that run's latencies) and its ratio to
# the baseline (the median of the per-round ratios): one line and a table row.
report() {
    local name=$1 ratio note
    read -r RPS P50 P99 note < <(awk -F'\t' -v n="$name" '$1 == n {print $2 "\t" $3 "\t" $4 "\t" $5}' "$RUNS" |
        sort -n | awk -F'\t' '{r[NR] = $0} END {print r[int((NR + 1) / 2)]}' | tr '\t' ' ')
    ratio=$(ratio "$name" "$BASELINE_NAME")
    printf '%-44s %10s req/s  p50 %8s ms  p99 %8s ms  x%s of baseline%s\n' "$name" "$RPS" "$P50" "$P99" "$ratio" "${note:+ $note}"
    printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$RPS" "$P50" "$P99" "$ratio" "${note:+ $note}" >>"$TABLE"
}

# curl_status EXPECTED URL [curl args]: one request; fails unless the status is EXPECTED. Body on stdout.
curl_check() {
    local expect=$1 url=$2 body status
    shift 2
    body=$(curl -sS --max-time 120 -w '\n%{http_code}' "$@" "$url") || { log "bench: curl $url failed"; exit 1; }
    status=${body##*$'\n'}
    body=${body%$'\n'*}
    if [[ $status != "$expect" ]]; then
        log "bench: $url answered $status, expected $expect: $body"
        exit 1
    fi
    printf '%s' "$body"
}

# Seconds a single request takes (for a collection's first touch by a tenant, a copy of the seed).
first_request_ms() {
    curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{time_total}' "$@" |
        awk '{printf "%s %.1f", $1, $2 * 1000}'
}

token_for() { # PORT: an OAuth2 access token for the Alternative Payments sandbox client
    curl_check 200 "http://127.0.0.1:$1/oauth/token" \
        -d grant_type=client_credentials -d client_id=sandbox_client -d client_secret=sandbox_secret |
        $UTIL get access_token
}

# ---------------------------------------------------------------------------------------------
log "bench: building (release)"
cargo build --release --bin specbox --example baseline >"$OUT/logs/build.log" 2>&1 ||
    { tail -30 "$OUT/logs/build.log" >&2; exit 1; }
SPECBOX="$TARGET_DIR/release/specbox"
BASELINE="$TARGET_DIR/release/examples/baseline"
# shellcheck source=bench/redis.sh
source bench/redis.sh
[[ $REDIS_MODE == 0 ]] || redis_preflight

log "bench: generating data (not timed)"
[[ $REDIS_MODE == only ]] && SIZES="" # the Redis scenarios generate their own
for n in 10k:10000 1m:1000000; do
    [[ " $SIZES " == *" ${n%%:*} "* ]] || continue
    dir="$OUT/fixtures-${n%%:*}"
    if [[ ! -f $dir/swisspay/customers.json || bench/gen_fixtures.py -nt $dir/swisspay/customers.json ]]; then
        rm -rf "$dir"
        timeout 600 $PY bench/gen_fixtures.py "${n##*:}" "$dir" fixtures/alternative-payments/clients.yaml >&2
    fi
done
if [[ $REDIS_MODE != only ]] && [[ ! -f $OUT/large.json || bench/gen_large_spec.py -nt $OUT/large.json ]]; then
    timeout 300 $PY bench/gen_large_spec.py "$OUT/large.json" >&2
fi

{
    echo "specbox benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')"
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $PINNING"
    echo "$LOADGEN, 1 thread, $CONNS connections; $ROUNDS interleaved run(s) of ${SECS} s per scenario, median reported; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS.head"
cat "$RESULTS.head" >&2

if [[ $REDIS_MODE == only ]]; then
    redis_section
    { cat "$RESULTS.head"; echo; cat "$OUT/redis-results.txt"; } >"$RESULTS"
    rm -f "$RESULTS.head"
    echo
    cat "$RESULTS"
    log "bench: results in $RESULTS, logs in $OUT/logs/"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
log "bench: startup (median of $STARTUP_RUNS)"
times=()
for ((i = 0; i < STARTUP_RUNS; i++)); do
    port=$($UTIL freeport)
    start_server "startup-bundled" "$port" 30 "$SPECBOX" specs --host 127.0.0.1 --port "$port" --fixtures fixtures --log warn || exit 1
    times+=("$STARTED_MS")
    stop_server "$STARTED_PID"
done
STARTUP_BUNDLED=$(printf '%s\n' "${times[@]}" | median)

times=()
for ((i = 0; i < STARTUP_RUNS; i++)); do
    port=$($UTIL freeport)
    start_server "startup-large" "$port" 120 "$SPECBOX" "$OUT/large.json" --host 127.0.0.1 --port "$port" --fixtures /nonexistent --log warn || exit 1
    times+=("$STARTED_MS")
    stop_server "$STARTED_PID"
done
STARTUP_LARGE=$(printf '%s\n' "${times[@]}" | median)

t0=$(date +%s%N)
if timeout 300 "$SPECBOX" check "$OUT/large.json" --fixtures /nonexistent >"$OUT/logs/check-large.log" 2>&1; then
    CHECK_LARGE="ok ($(tail -1 "$OUT/logs/check-large.log" | sed 's/: ok$//'), $((($(date +%s%N) - t0) / 1000000)) ms)"
else
    CHECK_LARGE="FAILED (exit $?): $(tail -3 "$OUT/logs/check-large.log" | tr '\n' ' ')"
fi
LARGE_SIZE=$(awk -v b="$(stat -c %s "$OUT/large.json")" 'BEGIN {printf "%.1f MB", b / 1e6}')
log "  bundled specs ${STARTUP_BUNDLED} ms, large spec ($LARGE_SIZE) ${STARTUP_LARGE} ms; specbox check large.json: $CHECK_LARGE"

# ---------------------------------------------------------------------------------------------
log "bench: bundled specs"
PORT=$($UTIL freeport)
start_server specbox "$PORT" 30 "$SPECBOX" specs --host 127.0.0.1 --port "$PORT" --fixtures fixtures --log warn || exit 1
SB_PID=$STARTED_PID
sleep 1
read -r IDLE_RSS _ < <($UTIL mem "$SB_PID")

SB="http://127.0.0.1:$PORT"
TOKEN=$(token_for "$PORT")
AUTH="Authorization: Bearer $TOKEN"
ID=$(curl_check 200 "$SB/customers" -H "$AUTH" | $UTIL get data.0.id)
curl_check 200 "$SB/customers/$ID" -H "$AUTH" >"$OUT/customer.json"
curl_check 201 "$SB/customers" -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"name":"Bench check","email":"bench-check@example.com"}' >/dev/null
INVALID_STATUS=$(curl -sS --max-time 10 -o "$OUT/invalid-response.json" -w '%{http_code}' "$SB/customers" \
    -H "$AUTH" -H 'Content-Type: application/json' -d '{"name": 42}')
[[ $INVALID_STATUS == 422 ]] || log "bench: warning: POST /customers {\"name\": 42} answered $INVALID_STATUS, not 422"

BPORT=$($UTIL freeport)
start_server baseline "$BPORT" 30 "$BASELINE" "$BPORT" "$OUT/customer.json" || exit 1
BASE_PID=$STARTED_PID
BASE="http://127.0.0.1:$BPORT"
log "  GET-one body: $(stat -c %s "$OUT/customer.json") bytes (baseline sends the same bytes)"

BASELINE_NAME="baseline: bare hyper, fixed body"
BUNDLED=("$BASELINE_NAME" "baseline: POST via create.lua (wrk's cost)" "get one customer (AP)"
    "create a customer (AP, unique emails)" "422 validation error (AP, {\"name\": 42})")
for ((round = 1; round <= ROUNDS; round++)); do
    log "bench: bundled specs, round $round of $ROUNDS"
    ROUND=$((ROUND + 1))
    measure "${BUNDLED[0]}" 2xx "$BASE/customers/$ID"
    measure "${BUNDLED[1]}" 2xx "$BASE/customers" -H "$AUTH" --script bench/create.lua --arg "b$$-$round" --post '{"name":"x","email":"x@example.com"}'
    measure "${BUNDLED[0]}" 2xx "$BASE/customers/$ID"
    measure "${BUNDLED[2]}" 2xx "$SB/customers/$ID" -H "$AUTH"
    measure "${BUNDLED[0]}" 2xx "$BASE/customers/$ID"
    measure "${BUNDLED[3]}" 2xx "$SB/customers" -H "$AUTH" --script bench/create.lua --arg "r$$-$round" --post '{"name":"Bench","email":"bench@example.com"}'
    measure "${BUNDLED[0]}" 2xx "$BASE/customers/$ID"
    measure "${BUNDLED[4]}" 4xx "$SB/customers" -H "$AUTH" --script bench/invalid.lua --post '{"name": 42}'
    measure "${BUNDLED[0]}" 2xx "$BASE/customers/$ID"
done
echo
printf '%-44s %10s        %11s     %11s     %s\n' scenario "" p50 p99 "ratio"
for name in "${BUNDLED[@]}"; do report "$name"; done
read -r AFTER_RSS HWM_BUNDLED < <($UTIL mem "$SB_PID")
stop_server "$SB_PID"

# ---------------------------------------------------------------------------------------------
declare -A LOAD_MS RSS_LOADED HWM FIRST_AP FIRST_SP LIST_PID LIST_URL LIST_TOKEN LIST_PAGE LIST_LABEL
# Every size's server is started (and its load timed) first; then their list scenarios run in
# alternation, so the 10k and 1M figures come from the same minutes of the machine's life.
for size in $SIZES; do
    log "bench: loading $size customers per spec"
    dir="$OUT/fixtures-$size"
    avail=$(awk '/^MemAvailable:/ {printf "%d", $2 / 1048576}' /proc/meminfo)
    [[ $size == 1m ]] && ((avail < 4)) && log "bench: warning: only $avail GB of memory available; loading 1M customers per spec takes about 2 GB"
    PORT=$($UTIL freeport)
    if ! start_server "specbox-$size" "$PORT" 900 "$SPECBOX" specs --host 127.0.0.1 --port "$PORT" --fixtures "$dir" --log warn; then
        LOAD_MS[$size]="FAILED (see $OUT/logs/specbox-$size.log)"
        continue
    fi
    pid=$STARTED_PID
    LOAD_MS[$size]=$STARTED_MS
    read -r RSS_LOADED[$size] _ < <($UTIL mem "$pid")
    SB="http://127.0.0.1:$PORT"
    TOKEN=$(token_for "$PORT")
    if [[ $size == 1m ]]; then n=1000000 label=1M; else n=10000 label=10k; fi
    page=$((n / 40))
    # First touch of a collection by a tenant (copies the seed): timed once, outside the scenarios.
    FIRST_AP[$size]=$(first_request_ms "$SB/customers?limit=20" -H "Authorization: Bearer $TOKEN")
    FIRST_SP[$size]=$(first_request_ms "$SB/api/v1/customers?page=$page&per_page=20" -H "Authorization: Bearer sk_test_bench")
    curl_check 200 "$SB/customers?limit=20" -H "Authorization: Bearer $TOKEN" | $UTIL get data.19.id >/dev/null
    curl_check 200 "$SB/api/v1/customers?page=$page&per_page=20" -H "Authorization: Bearer sk_test_bench" | $UTIL get data.19.id >/dev/null
    LIST_PID[$size]=$pid LIST_URL[$size]=$SB LIST_TOKEN[$size]=$TOKEN LIST_PAGE[$size]=$page LIST_LABEL[$size]=$label
done
LISTED=()
for size in $SIZES; do [[ -n ${LIST_PID[$size]:-} ]] && LISTED+=("$size"); done
for ((round = 1; round <= ROUNDS && ${#LISTED[@]} > 0; round++)); do
    log "bench: lists, round $round of $ROUNDS"
    ROUND=$((ROUND + 1))
    measure "$BASELINE_NAME" 2xx "$BASE/customers/$ID"
    for size in "${LISTED[@]}"; do
        SB=${LIST_URL[$size]} label=${LIST_LABEL[$size]} page=${LIST_PAGE[$size]}
        measure "list: first 20 of $label (AP, cursor)" 2xx "$SB/customers?limit=20" -H "Authorization: Bearer ${LIST_TOKEN[$size]}"
        measure "$BASELINE_NAME" 2xx "$BASE/customers/$ID"
        measure "list: page $page x20 of $label (SwissPay)" 2xx "$SB/api/v1/customers?page=$page&per_page=20" -H "Authorization: Bearer sk_test_bench"
        measure "$BASELINE_NAME" 2xx "$BASE/customers/$ID"
    done
done
for size in ${LISTED[@]+"${LISTED[@]}"}; do
    report "list: first 20 of ${LIST_LABEL[$size]} (AP, cursor)"
    report "list: page ${LIST_PAGE[$size]} x20 of ${LIST_LABEL[$size]} (SwissPay)"
    read -r _ HWM[$size] < <($UTIL mem "${LIST_PID[$size]}")
    stop_server "${LIST_PID[$size]}"
done
stop_server "$BASE_PID"
# The target reads "RSS with 1,000,000 stored customers": the list servers hold 1M per spec, so
# one more start holds 1M in all (Alternative Payments only; SwissPay starts empty).
RSS_1M_TOTAL=""
if [[ " $SIZES " == *" 1m "* ]]; then
    one="$OUT/fixtures-1m-one-spec"
    rm -rf "$one" && mkdir -p "$one" && ln -s "$ROOT/$OUT/fixtures-1m/alternative-payments" "$one/alternative-payments"
    PORT=$($UTIL freeport)
    if start_server "specbox-1m-one-spec" "$PORT" 900 "$SPECBOX" specs --host 127.0.0.1 --port "$PORT" --fixtures "$one" --log warn; then
        curl_check 200 "http://127.0.0.1:$PORT/customers?limit=1" -H "Authorization: Bearer $(token_for "$PORT")" >/dev/null
        read -r RSS_1M_TOTAL _ < <($UTIL mem "$STARTED_PID")
        stop_server "$STARTED_PID"
    fi
fi
# The 1M lists against the 10k lists, round by round (the target: within 10%).
LIST_VS=""
if [[ -n ${LIST_PID[10k]:-} && -n ${LIST_PID[1m]:-} ]]; then
    LIST_VS=$(printf '  %-56s x%s\n  %-56s x%s' \
        "first 20 (AP, cursor): 1M / 10k" "$(ratio "list: first 20 of 1M (AP, cursor)" "list: first 20 of 10k (AP, cursor)")" \
        "deep page (SwissPay): 1M / 10k" "$(ratio "list: page 25000 x20 of 1M (SwissPay)" "list: page 250 x20 of 10k (SwissPay)")")
fi

[[ $REDIS_MODE == 1 ]] && redis_section

# ---------------------------------------------------------------------------------------------
{
    cat "$RESULTS.head"
    echo
    printf '%-44s %10s %10s %10s %8s\n' "scenario" "req/s" "p50 ms" "p99 ms" "ratio"
    awk -F'\t' '$1 == "load" {printf "%-44s %10s %10s %10s %8s%s\n", $2, $3, $4, $5, $6, $7}' "$TABLE"
    echo "(req/s and latencies: the median run; ratio: the median over rounds of each run against the mean of the baseline runs just before and after it)"
    if [[ -n $LIST_VS ]]; then
        echo
        echo "list of 1M against list of 10k (median of per-round ratios, each against its baseline runs)"
        echo "$LIST_VS"
    fi
    echo
    echo "startup (process start to first 200 from /__specbox/health)"
    printf '  %-56s %10s ms\n' "bundled specs (median of $STARTUP_RUNS)" "$STARTUP_BUNDLED"
    printf '  %-56s %10s ms\n' "large spec, $LARGE_SIZE, 600 paths (median of $STARTUP_RUNS)" "$STARTUP_LARGE"
    printf '  %-56s %10s ms\n' "bundled specs + 10k customers per spec (fixtures load)" "${LOAD_MS[10k]:-n/a}"
    printf '  %-56s %10s ms\n' "bundled specs + 1M customers per spec (fixtures load)" "${LOAD_MS[1m]:-n/a}"
    printf '  %-56s %s\n' "specbox check large.json" "$CHECK_LARGE"
    echo
    echo "first request of a tenant to a collection (status, ms)"
    printf '  %-56s %s\n' "AP first page, 10k" "${FIRST_AP[10k]:-n/a}" "AP first page, 1M" "${FIRST_AP[1m]:-n/a}" \
        "SwissPay page $((10000 / 40)), 10k" "${FIRST_SP[10k]:-n/a}" "SwissPay page $((1000000 / 40)), 1M" "${FIRST_SP[1m]:-n/a}"
    echo
    echo "memory"
    printf '  %-56s %10s MB\n' "idle RSS, bundled specs" "$IDLE_RSS"
    printf '  %-56s %10s MB\n' "RSS after the bundled scenarios (created customers kept)" "$AFTER_RSS"
    printf '  %-56s %10s MB\n' "RSS after loading 10k customers per spec" "${RSS_LOADED[10k]:-n/a}"
    printf '  %-56s %10s MB\n' "peak RSS (VmHWM), 10k customers per spec" "${HWM[10k]:-n/a}"
    printf '  %-56s %10s MB\n' "RSS after loading 1M customers per spec" "${RSS_LOADED[1m]:-n/a}"
    printf '  %-56s %10s MB\n' "peak RSS (VmHWM), 1M customers per spec" "${HWM[1m]:-n/a}"
    printf '  %-56s %10s MB\n' "RSS with 1M customers in all (one spec), first page read" "${RSS_1M_TOTAL:-n/a}"
    if [[ $REDIS_MODE == 1 ]]; then
        echo
        cat "$OUT/redis-results.txt"
    fi
} >"$RESULTS"
rm -f "$RESULTS.head"
echo
cat "$RESULTS"
log "bench: results in $RESULTS, logs in $OUT/logs/"

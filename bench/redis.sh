# shellcheck shell=bash
# The Redis store's scenarios (issue 18), sourced by bench/run.sh, which calls redis_preflight right
# after its build and redis_section after its memory scenarios (BENCH_REDIS=1, the default), or
# only these (BENCH_REDIS=only), or neither (BENCH_REDIS=0). Uses run.sh's helpers: log,
# start_server, stop_server, token_for, curl_check, first_request_ms, median, $UTIL, $ON_SERVER,
# $ON_LOAD, $PIDS.
#
# Three stores, each serving the bundled specs with 100,000 generated customers per spec:
#   memory      one specbox, no --store (the default)
#   redis x1    one specbox, --store redis://127.0.0.1:PORT/0
#   redis x2    two specbox processes on that same Redis and prefix (started one after the other:
#               the first loads the fixtures, the second finds them there)
# and four scenarios on each: GET one customer (AP), create (AP, bench/create.lua), the first page
# of 20 (AP, cursor) and page 2,500 of 20 (SwissPay, page). Each round runs every scenario on the
# three stores one after the other, so a Redis figure is compared with the memory figure of the
# same minute; the ratio is the median over rounds of redis/memory.
#
# Two replicas, without a load balancer: two wrk processes at once (each -t1, half the
# connections, both on the load generator's core), one per replica; req/s is their sum, p50/p99
# the worse of the two.
#
# Per run, CPU time (utime + stime from /proc/PID/stat, 10 ms steps) of every specbox process and
# of redis-server, before and after, over the requests served: each replica's over its own
# requests, redis-server's over all of them. Redis commands per request: the delta of INFO stats'
# total_commands_processed over the requests (an EVALSHA counts as one command; the INFO call
# itself, one, is taken off). Commands that the replicas send while idle (background tasks) are
# measured separately, over 2 s before the rounds, and reported, not subtracted.
#
# redis-server runs without persistence (--save "" --appendonly no: the figures are the store's,
# not the disk's) and is pinned with the servers (BENCH_REDIS_CPU, default BENCH_SERVER_CPU): on a
# 2-core machine the load generator keeps a core of its own, and specbox and Redis share the other,
# as the memory store's specbox alone does.

REDIS_ITEMS=100000
REDIS_CPU=${BENCH_REDIS_CPU:-${SERVER_CPU:-0}}

# Fails early (before the memory scenarios) when the Redis scenarios cannot run.
redis_preflight() {
    if ! command -v redis-server >/dev/null; then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            log "bench: installing redis-server (apt-get)"
            { apt-get install -y redis-server || { apt-get update && apt-get install -y redis-server; }; } >"$OUT/logs/apt-redis.log" 2>&1
        fi
        command -v redis-server >/dev/null || {
            log "bench: the Redis scenarios need redis-server (apt-get install redis-server); BENCH_REDIS=0 skips them"
            exit 1
        }
    fi
    command -v redis-cli >/dev/null || { log "bench: the Redis scenarios need redis-cli (Debian's redis-tools)"; exit 1; }
    if [[ $LOADGEN != wrk ]]; then
        log "bench: the Redis scenarios need wrk (two load generators at once, create.lua); BENCH_REDIS=0 skips them"
        exit 1
    fi
    if ! "$SPECBOX" --help 2>&1 | grep -q -- '--store'; then
        log "bench: $SPECBOX has no --store option: the Redis backend (issue 18) is not in this build."
        log "bench: BENCH_REDIS=0 runs the memory scenarios alone."
        exit 1
    fi
}

rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_commands() { rcli INFO stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" {print $2}'; }
# Round trips: the scripts called (EVALSHA, or EVAL the first time), read from INFO commandstats.
# total_commands_processed also counts the commands a script runs inside Redis (a read of one item
# is EVALSHA, HEXISTS and HGET: 3), so it measures Redis's work, not round trips.
redis_scripts() {
    rcli INFO commandstats | tr -d '\r' |
        awk -F'[:=,]' '$1 == "cmdstat_evalsha" || $1 == "cmdstat_eval" {n += $3} END {print n + 0}'
}
cpu_ms() { $UTIL cpu "$1"; }

# wrk_into FILE CONNS WRK_ARGS...: one wrk run into FILE (pinned to the load core).
wrk_into() {
    local file=$1 conns=$2
    shift 2
    timeout $((SECS + 60)) ${ON_LOAD[@]+"${ON_LOAD[@]}"} \
        wrk -t1 -c"$conns" -d"${SECS}s" --timeout 5s --latency "$@" >"$file" 2>&1
}

# rmeasure STORE SCENARIO URL_PATH HEADER [SCRIPT]: one run of a scenario on one store (memory,
# redis-1 or redis-2), kept in $REDIS_RUNS with its CPU and Redis figures.
rmeasure() {
    local store=$1 scenario=$2 path=$3 header=$4 script=${5:-}
    local raw="$OUT/logs/redis-$store-$scenario"
    local pids=() urls=() i cmds0=0 cmds1=0 scr0=0 scr1=0 redis0=0 redis1=0
    case $store in
        memory) pids=("$RMEM_PID") urls=("$RMEM_URL") ;;
        redis-1) pids=("$RA_PID") urls=("$RA_URL") ;;
        redis-2) pids=("$RA_PID" "$RB_PID") urls=("$RA_URL" "$RB_URL") ;;
    esac
    local conns=$((CONNS / ${#pids[@]}))
    local before=() after=() jobs=()
    for i in "${!pids[@]}"; do before[i]=$(cpu_ms "${pids[i]}"); done
    if [[ $store != memory ]]; then redis0=$(cpu_ms "$REDIS_PID"); cmds0=$(redis_commands); scr0=$(redis_scripts); fi
    for i in "${!pids[@]}"; do
        local args=(-H "$header")
        [[ -n $script ]] && args+=(-s "$script")
        args+=("${urls[i]}$path")
        [[ -n $script ]] && args+=(-- "r$$-$ROUND-$store-$i")
        wrk_into "$raw-$i.txt" "$conns" "${args[@]}" &
        jobs+=($!)
    done
    for i in "${!jobs[@]}"; do
        wait "${jobs[i]}" || { log "bench: wrk failed for $store $scenario:"; cat "$raw-$i.txt" >&2; exit 1; }
    done
    for i in "${!pids[@]}"; do after[i]=$(cpu_ms "${pids[i]}"); done
    if [[ $store != memory ]]; then redis1=$(cpu_ms "$REDIS_PID"); cmds1=$(redis_commands); scr1=$(redis_scripts); fi
    # Sum of req/s and requests, the worse p50/p99, and each process's CPU per request (µs).
    local rps=0 p50=0 p99=0 total=0 non2xx=0 errs=0 cpu_each=() r a b t x e
    for i in "${!pids[@]}"; do
        read -r r a b t x e < <($UTIL wrk "$raw-$i.txt")
        rps=$((rps + r)) total=$((total + t)) non2xx=$((non2xx + x)) errs=$((errs + e))
        p50=$(awk -v a="$p50" -v b="$a" 'BEGIN {print (b > a) ? b : a}')
        p99=$(awk -v a="$p99" -v b="$b" 'BEGIN {print (b > a) ? b : a}')
        cpu_each+=("$(awk -v c=$((after[i] - before[i])) -v t="$t" 'BEGIN {printf "%.1f", t ? c * 1000 / t : 0}')")
    done
    local cpu_redis="" per_req=""
    if [[ $store != memory ]]; then
        cpu_redis=$(awk -v c=$((redis1 - redis0)) -v t="$total" 'BEGIN {printf "%.1f", t ? c * 1000 / t : 0}')
        # The INFO calls themselves (two, plus one INFO commandstats) are taken off.
        per_req=$(awk -v s=$((scr1 - scr0)) -v c=$((cmds1 - cmds0 - 3)) -v t="$total" 'BEGIN {printf "%.2f (%.1f)", t ? s / t : 0, t ? c / t : 0}')
    fi
    local note=""
    ((non2xx == 0)) || note=" ($non2xx of $total responses not 2xx!)"
    ((errs == 0)) || note="$note ($errs socket errors)"
    log "  $(printf '%-8s %-34s %8s req/s' "$store" "$scenario" "$rps")  CPU µs/req: specbox ${cpu_each[*]}${cpu_redis:+, redis $cpu_redis}${per_req:+; scripts/req (commands/req): $per_req}$note"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$scenario" "$ROUND" "$rps" "$p50" "$p99" \
        "${cpu_each[*]}" "$cpu_redis" "$per_req" "$note" >>"$REDIS_RUNS"
}

# The memory store's figures and the Redis stores' next to them, into $OUT/redis-results.txt.
redis_section() {
    local dir="$OUT/fixtures-100k" port
    if [[ ! -f $dir/swisspay/customers.json || bench/gen_fixtures.py -nt $dir/swisspay/customers.json ]]; then
        rm -rf "$dir"
        timeout 600 $PY bench/gen_fixtures.py "$REDIS_ITEMS" "$dir" fixtures/alternative-payments/clients.yaml >&2
    fi

    log "bench: Redis store: redis-server $(redis-server --version | awk '{print $3}'), pinned to core $REDIS_CPU"
    REDIS_PORT=$($UTIL freeport)
    rm -rf "$OUT/redis" && mkdir -p "$OUT/redis"
    local on_redis=()
    [[ ${#ON_SERVER[@]} -gt 0 ]] && on_redis=(taskset -c "$REDIS_CPU")
    ${on_redis[@]+"${on_redis[@]}"} redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$ROOT/$OUT/redis" \
        --save "" --appendonly no --daemonize no --protected-mode no --logfile "$ROOT/$OUT/logs/redis.log" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    local i
    for ((i = 0; i < 300; i++)); do # 30 s
        [[ $(rcli PING 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    [[ $(rcli PING 2>/dev/null) == PONG ]] || { log "bench: redis-server did not answer PING"; cat "$OUT/logs/redis.log" >&2; exit 1; }
    local store="redis://127.0.0.1:$REDIS_PORT/0"

    port=$($UTIL freeport)
    start_server redis-memory "$port" 900 "$SPECBOX" specs --host 127.0.0.1 --port "$port" --fixtures "$dir" --log warn || exit 1
    RMEM_PID=$STARTED_PID RMEM_URL="http://127.0.0.1:$port" RMEM_LOAD_MS=$STARTED_MS
    port=$($UTIL freeport)
    start_server redis-a "$port" 900 "$SPECBOX" specs --host 127.0.0.1 --port "$port" --fixtures "$dir" --log warn --store "$store" || exit 1
    RA_PID=$STARTED_PID RA_URL="http://127.0.0.1:$port" RA_LOAD_MS=$STARTED_MS
    port=$($UTIL freeport)
    start_server redis-b "$port" 900 "$SPECBOX" specs --host 127.0.0.1 --port "$port" --fixtures "$dir" --log warn --store "$store" || exit 1
    RB_PID=$STARTED_PID RB_URL="http://127.0.0.1:$port" RB_LOAD_MS=$STARTED_MS
    REDIS_KEYS=$(rcli DBSIZE)
    REDIS_MEM=$(rcli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory_human" {print $2}')

    # Tokens: the memory server's own; one token for both replicas (issued by one, shared by both).
    local mem_token redis_token page=$((REDIS_ITEMS / 40)) id
    mem_token=$(token_for "${RMEM_URL##*:}")
    redis_token=$(token_for "${RA_URL##*:}")
    MEM_AUTH="Authorization: Bearer $mem_token" REDIS_AUTH="Authorization: Bearer $redis_token"
    SP_AUTH="Authorization: Bearer sk_test_bench"
    # First touch of a collection by a tenant, timed once, outside the scenarios.
    R_FIRST_AP_MEM=$(first_request_ms "$RMEM_URL/customers?limit=20" -H "$MEM_AUTH")
    R_FIRST_AP_REDIS=$(first_request_ms "$RA_URL/customers?limit=20" -H "$REDIS_AUTH")
    R_FIRST_SP_MEM=$(first_request_ms "$RMEM_URL/api/v1/customers?page=$page&per_page=20" -H "$SP_AUTH")
    R_FIRST_SP_REDIS=$(first_request_ms "$RA_URL/api/v1/customers?page=$page&per_page=20" -H "$SP_AUTH")
    # Every store answers every scenario as expected before anything is timed.
    id=$(curl_check 200 "$RMEM_URL/customers?limit=20" -H "$MEM_AUTH" | $UTIL get data.0.id)
    R_GET_PATH="/customers/$id"
    local url auth
    for url in "$RMEM_URL" "$RA_URL" "$RB_URL"; do
        auth=$REDIS_AUTH
        [[ $url == "$RMEM_URL" ]] && auth=$MEM_AUTH
        curl_check 200 "$url$R_GET_PATH" -H "$auth" >/dev/null
        curl_check 200 "$url/customers?limit=20" -H "$auth" | $UTIL get data.19.id >/dev/null
        curl_check 200 "$url/api/v1/customers?page=$page&per_page=20" -H "$SP_AUTH" | $UTIL get data.19.id >/dev/null
        curl_check 201 "$url/customers" -H "$auth" -H 'Content-Type: application/json' \
            -d '{"name":"Bench check","email":"bench-check@example.com"}' >/dev/null
    done
    # What the replicas send Redis while nobody asks anything.
    local c0 c1
    c0=$(redis_commands)
    sleep 2
    c1=$(redis_commands)
    REDIS_IDLE=$(((c1 - c0 - 1) / 2))

    REDIS_RUNS="$OUT/redis-runs.tsv"
    : >"$REDIS_RUNS"
    R_SCENARIOS=("get one customer (AP)" "create a customer (AP)" "list: first 20 of 100k (AP)" "list: page $page x20 of 100k (SP)")
    local round s
    for ((round = 1; round <= ROUNDS; round++)); do
        log "bench: Redis store, round $round of $ROUNDS"
        ROUND=$((ROUND + 1))
        for s in "${R_SCENARIOS[@]}"; do
            for store in memory redis-1 redis-2; do
                auth=$REDIS_AUTH
                [[ $store == memory ]] && auth=$MEM_AUTH
                case $s in
                    get*) rmeasure "$store" "$s" "$R_GET_PATH" "$auth" ;;
                    create*) rmeasure "$store" "$s" "/customers" "$auth" bench/create.lua ;;
                    "list: first"*) rmeasure "$store" "$s" "/customers?limit=20" "$auth" ;;
                    *) rmeasure "$store" "$s" "/api/v1/customers?page=$page&per_page=20" "$SP_AUTH" ;;
                esac
            done
        done
    done
    read -r _ RMEM_HWM < <($UTIL mem "$RMEM_PID")
    read -r RA_RSS _ < <($UTIL mem "$RA_PID")
    stop_server "$RB_PID"
    stop_server "$RA_PID"
    stop_server "$RMEM_PID"
    stop_server "$REDIS_PID"
    redis_write_results >"$OUT/redis-results.txt"
}

# redis_median_row STORE SCENARIO: the median run (by req/s) of a scenario on a store, as kept.
redis_median_row() {
    awk -F'\t' -v st="$1" -v sc="$2" '$1 == st && $2 == sc' "$REDIS_RUNS" | sort -t$'\t' -k4,4n |
        awk '{r[NR] = $0} END {print r[int((NR + 1) / 2)]}'
}

# redis_ratio SCENARIO STORE: the median over rounds of STORE's req/s over memory's, same round.
redis_ratio() {
    awk -F'\t' -v sc="$1" -v st="$2" '
        $2 == sc && $1 == "memory" {m[$3] = $4}
        $2 == sc && $1 == st {r[$3] = $4}
        END {
            n = 0
            for (k in r) if (m[k] > 0) v[++n] = r[k] / m[k]
            if (n == 0) {print "n/a"; exit}
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {t = v[j]; v[j] = v[j - 1]; v[j - 1] = t}
            printf "%.2f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }' "$REDIS_RUNS"
}

redis_write_results() {
    echo "Redis store: $REDIS_ITEMS customers per spec; redis-server $(redis-server --version | awk '{print $3}') (no persistence), pinned to core $REDIS_CPU"
    echo "2 replicas: two wrk processes at once, $((CONNS / 2)) connections each, one per replica (no load balancer)"
    printf '%-34s %-8s %9s %8s %9s %6s  %-22s %10s %s\n' scenario store "req/s" "p50 ms" "p99 ms" ratio "specbox CPU us/req" "redis CPU" "round trips/req (commands)"
    local s store row rps p50 p99 cpu cpu_r cmds note
    for s in "${R_SCENARIOS[@]}"; do
        for store in memory redis-1 redis-2; do
            row=$(redis_median_row "$store" "$s")
            IFS=$'\t' read -r _ _ _ rps p50 p99 cpu cpu_r cmds note <<<"$row"
            local ratio=1.00
            [[ $store != memory ]] && ratio=$(redis_ratio "$s" "$store")
            printf '%-34s %-8s %9s %8s %9s %6s  %-22s %10s %s%s\n' "$s" "$store" "$rps" "$p50" "$p99" "$ratio" \
                "${cpu// / + }" "${cpu_r:--}" "${cmds:--}" "$note"
        done
    done
    echo "(req/s and latencies: the median run of $ROUNDS; ratio: median over rounds of req/s against the memory store's in the same round;"
    echo " CPU per request: each specbox process over the requests it served, redis-server over all; round trips/req:"
    echo " scripts called per request (EVALSHA; specbox sends nothing else on these paths), and in brackets every command Redis ran,"
    echo " those inside the scripts included)"
    echo
    printf '  %-66s %s\n' "Redis commands per second, both replicas idle" "$REDIS_IDLE" \
        "startup with $REDIS_ITEMS customers per spec: memory" "$RMEM_LOAD_MS ms" \
        "  redis, first replica (loads the fixtures)" "$RA_LOAD_MS ms" \
        "  redis, second replica (fixtures already there)" "$RB_LOAD_MS ms" \
        "Redis after loading: keys, used memory" "$REDIS_KEYS, $REDIS_MEM" \
        "first request of a tenant, AP first page: memory / redis" "$R_FIRST_AP_MEM / $R_FIRST_AP_REDIS (status, ms)" \
        "first request of a tenant, SwissPay deep page: memory / redis" "$R_FIRST_SP_MEM / $R_FIRST_SP_REDIS (status, ms)" \
        "peak RSS of the memory store's process / RSS of a redis replica" "$RMEM_HWM MB / $RA_RSS MB"
}

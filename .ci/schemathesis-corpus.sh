#!/usr/bin/env bash
# Schemathesis over the published specs of tests/corpus/ (see its README): for each spec, a specbox serving
# that spec alone (no fixtures, as the Rust corpus harness serves it), and a short Schemathesis run against
# it. Checks: not_a_server_error (no 5xx, whatever the request) and response_schema_conformance (every
# answer matches the schema documented for its status), except where the spec itself contradicts itself:
# the `schema` rows of tests/corpus/EXCEPTIONS.md, judged by .ci/schemathesis_corpus_hooks.py (only the
# violations the spec's own example has too are let through). Exits non-zero if any run fails.
#
#   name                   spec (under tests/corpus/)                                phases
#   adyen-checkout         adyen/CheckoutService-v71.json                            examples, fuzzing, stateful
#   twilio                 twilio/twilio_api_v2010.json                              examples, fuzzing, stateful
#   square                 square/api.json                                           examples, fuzzing, stateful
#   digitalocean           digitalocean/specification/DigitalOcean-public.v2.yaml   examples, fuzzing
#   oai-* (7 documents)    oai/v2.0/yaml/*.yaml, oai/v3.0/*.yaml, oai/v3.1/tictactoe.yaml, oai/v3.2/*.yaml
#                                                                                    all four (coverage too)
# Not run: the webhooks-only documents (adyen/Webhooks-v1.json, oai/v3.1/webhook-example.yaml) have no
# operations to call. The coverage phase is left out for the four large specs: it is not bounded by
# --max-examples (Adyen's 28 operations alone took 195 s of it). About 3 minutes in all on 2 cores
# (debug specbox): DigitalOcean ~80 s, Square ~45 s, Twilio ~35 s, the rest ~30 s together.
# Operations left out, and why, are listed in tests/corpus/EXCEPTIONS.md ("Schemathesis corpus run").
#
# Usage: bash .ci/schemathesis-corpus.sh [NAME...]   (all specs without names; from anywhere)
# Knobs (environment): ST_SEED (1), ST_CORPUS_MAX_EXAMPLES (5), ST_CORPUS_RUN_TIMEOUT seconds per spec
#   (180), ST_CORPUS_OUT (target/schemathesis-corpus): reports (JUnit, NDJSON) per spec, specbox logs.
#   SPECBOX_BIN: the specbox binary to test (.ci/run passes the debug one `cargo test` built); without
#   it the release binary is built.
# Needs: python3 with venv, cargo, curl. Installs Schemathesis into .venv-schemathesis/ (pinned, shared
# with .ci/schemathesis.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SEED=${ST_SEED:-1}
MAX_EXAMPLES=${ST_CORPUS_MAX_EXAMPLES:-5}
RUN_TIMEOUT=${ST_CORPUS_RUN_TIMEOUT:-180}
OUT=${ST_CORPUS_OUT:-$ROOT/target/schemathesis-corpus}
CORPUS=tests/corpus
NO_FIXTURES=tests/corpus/no-fixtures # does not exist: only the spec counts (tests/common/conformance.rs)

SCRIPT=schemathesis-corpus.sh
# shellcheck source=.ci/schemathesis-setup.sh
source "$ROOT/.ci/schemathesis-setup.sh"

rm -rf "$OUT"
mkdir -p "$OUT"
WORK=$(mktemp -d)
SB_PID=
stop_specbox() {
  if [ -n "$SB_PID" ] && kill -0 "$SB_PID" 2>/dev/null; then
    kill "$SB_PID" 2>/dev/null || true
    wait "$SB_PID" 2>/dev/null || true
  fi
  SB_PID=
}
cleanup() {
  stop_specbox
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No SPECBOX_* variable from the caller's environment may change what is served (e.g. SPECBOX_NO_AUTH).
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^SPECBOX_' || true)

# Starts specbox serving one spec; sets BASE (http://ADDR) and MOUNT (the spec's path prefix, "" for /).
start_specbox() { # NAME SPEC_FILE
  local name=$1 spec=$2 log="$OUT/$1/specbox.log" addr= healthy=
  "$BIN" "$ROOT/$spec" --fixtures "$ROOT/$NO_FIXTURES" --host 127.0.0.1 --port 0 >"$log" 2>&1 &
  SB_PID=$!
  # specbox logs "listening on http://ADDR" (with ANSI colours when it thinks it has a terminal).
  for _ in $(seq 300); do
    kill -0 "$SB_PID" 2>/dev/null || { echo "specbox exited during startup:" >&2; cat "$log" >&2; return 2; }
    addr=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | sed -nE 's#.*listening on http://([^ ]+).*#\1#p' | head -n1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "specbox did not log its address within 30 s:" >&2; cat "$log" >&2; return 2; }
  BASE="http://$addr"
  for _ in $(seq 100); do
    if curl -fsS --max-time 1 "$BASE/__specbox/health" >/dev/null 2>&1; then healthy=1; break; fi
    sleep 0.1
  done
  [ -n "$healthy" ] || { echo "specbox at $BASE not healthy within 10 s" >&2; cat "$log" >&2; return 2; }
  # Where the spec is mounted (its first server URL's path, else /), as specbox itself reports it.
  MOUNT=$(curl -fsS --max-time 5 "$BASE/__specbox/health" |
    "$PY" -c 'import json,sys; specs=json.load(sys.stdin)["specs"]; assert len(specs)==1, specs; print(specs[0]["mount"].rstrip("/"))')
}

# --- runs -------------------------------------------------------------------------------------------------
# Options shared by every run: --workers 1 and a fixed seed keep a run reproducible (the server is stateful
# and order matters); --generation-database none: nothing carried over between runs; Schemathesis runs inside
# the spec's report folder so its .hypothesis/.schemathesis dirs stay there.
ran=0
passed=0
failed=0
failed_names=()
timings=()
want() { [ "${#SELECTED[@]}" -eq 0 ] || printf '%s\n' "${SELECTED[@]}" | grep -qx "$1"; }
SELECTED=("$@")

run_spec() { # NAME SPEC_FILE PHASES [extra schemathesis args...]
  local name=$1 spec=$2 phases=$3
  shift 3
  want "$name" || return 0
  ran=$((ran + 1))
  local dir="$OUT/$name" rc=0 tested="$ROOT/$spec" started
  mkdir -p "$dir"
  started=$(date +%s)
  echo
  echo "== schemathesis: $name ($spec), phases $phases"
  start_specbox "$name" "$spec" || { failed=$((failed + 1)); failed_names+=("$name"); stop_specbox; return 0; }
  echo "== specbox $BASE$MOUNT (pid $SB_PID)"
  case "$spec" in
    */DigitalOcean-public.v2.yaml)
      # Schemathesis reads the operations of this multi-file spec (`$ref`s to other files, whose own `$ref`s
      # are relative to them) without their path parameters ("Path parameter ... is not defined" for all
      # 422 operations that have one), so it is given one bundled document instead (specbox serves the
      # original files).
      tested="$WORK/$name.bundled.json"
      "$PY" "$ROOT/.ci/bundle_openapi.py" "$ROOT/$spec" "$tested"
      ;;
  esac
  printf 'hooks = "%s"\n' "$ROOT/.ci/schemathesis_corpus_hooks.py" >"$WORK/$name.toml"
  (cd "$dir" && ST_CORPUS_SPEC=$name timeout --kill-after=10 "$RUN_TIMEOUT" "$ST" --config-file "$WORK/$name.toml" run "$tested" \
    --url "$BASE$MOUNT" \
    --checks not_a_server_error,response_schema_conformance_corpus \
    --phases "$phases" \
    --seed "$SEED" \
    --max-examples "$MAX_EXAMPLES" \
    --workers 1 \
    --continue-on-failure \
    --request-timeout 10 \
    --generation-database none \
    --output-sanitize false \
    --report junit,ndjson --report-dir "$dir" \
    "$@" >"$dir/schemathesis.txt" 2>&1) || rc=$?
  stop_specbox
  timings+=("$(printf '%-22s %4ss  exit %s' "$name" "$(($(date +%s) - started))" "$rc")")
  # The run's summary (everything after the failure details), the details stay in schemathesis.txt.
  sed -n '/^=* SUMMARY =*$/,$p' "$dir/schemathesis.txt" | grep -v '^$' | sed 's/^/   /' || true
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "== $name: schemathesis did not finish within ${RUN_TIMEOUT}s" >&2
  fi
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    return 0
  fi
  failed=$((failed + 1))
  failed_names+=("$name")
  if ! ls "$dir"/*.ndjson >/dev/null 2>&1; then
    tail -n 40 "$dir/schemathesis.txt" # no report: Schemathesis itself failed (its traceback is there)
  fi
  # One line per distinct (operation, check, status, where in the schema), from the NDJSON events.
  "$PY" - "$dir"/*.ndjson <<'PYEOF' || true
import collections, json, re, sys
groups = collections.Counter()
for path in sys.argv[1:]:
    for line in open(path):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        rec = finished["recorder"]
        for case_id, checks in (rec.get("checks") or {}).items():
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure") or {}
                response = (rec.get("interactions", {}).get(case_id) or {}).get("response") or {}
                message = failure.get("message") or ""
                where = re.search(r"Schema at (\S+?):", message)
                first = message.split("\n", 1)[0][:100]
                groups[(failure.get("operation") or rec["label"], check["name"], response.get("status_code"),
                        where.group(1) if where else first)] += 1
if groups:
    print("== failing checks (cases): operation | check | status | schema location or message")
    for (op, check, status, where), n in sorted(groups.items(), key=str):
        print(f"   {n:4d}  {op} | {check} | {status} | {where}")
PYEOF
}

# Credentials: specbox accepts any Basic credential, and any bearer token or API key (none of these specs
# declares a token pattern). Each run is its own specbox, so one credential per spec is enough.
run_spec adyen-checkout "$CORPUS/adyen/CheckoutService-v71.json" examples,fuzzing,stateful \
  --header "X-API-Key: AQEst_schemathesis" # BasicAuth or ApiKeyAuth (X-API-Key header)

run_spec twilio "$CORPUS/twilio/twilio_api_v2010.json" examples,fuzzing,stateful \
  --auth "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:schemathesis" # accountSid_authToken: HTTP Basic

# Left out (not a fault of specbox, and not something the spec's examples show, so not an EXCEPTIONS.md
# `schema` row; listed in its "Schemathesis corpus run" section):
# - four Create*CustomAttributeDefinition operations: their request examples carry a JSON Schema as data
#   (`"schema": {"$ref": "https://developer-production-s.squarecdn.com/schemas/v1/common.json#..."}`), and
#   Schemathesis follows that `$ref` as a reference ("Unresolvable reference in the schema" offline);
# - UpdateVendor (PUT /v2/vendors/{vendor_id}): declares no `vendor_id` parameter for its path template
#   ("Path parameter 'vendor_id' is not defined").
run_spec square "$CORPUS/square/api.json" examples,fuzzing,stateful \
  --header "Authorization: Bearer EAAAschemathesis" \
  --exclude-operation-id CreateCustomerCustomAttributeDefinition \
  --exclude-operation-id CreateLocationCustomAttributeDefinition \
  --exclude-operation-id CreateMerchantCustomAttributeDefinition \
  --exclude-operation-id CreateOrderCustomAttributeDefinition \
  --exclude-operation-id UpdateVendor

# No stateful phase: the spec's own links name operations it does not have (POST /v2/account/keys links to
# `sshKeys_get_by_id`, `sshKeys_delete_by_fingerprint`, ...), and Schemathesis refuses the phase for that
# ("Invalid OpenAPI Links Definition").
run_spec digitalocean "$CORPUS/digitalocean/specification/DigitalOcean-public.v2.yaml" examples,fuzzing \
  --header "Authorization: Bearer dop_v1_schemathesis"

run_spec scalar-galaxy "$CORPUS/scalar/galaxy-3.1.yaml" examples,fuzzing,stateful \
  --header "Authorization: Bearer schemathesis"

# Petstore: `api_key` header or OAuth2 (implicit, which needs no token endpoint: any bearer token).
run_spec swagger-petstore "$CORPUS/swagger-petstore/openapi.yaml" examples,fuzzing,stateful \
  --header "api_key: schemathesis" --header "Authorization: Bearer schemathesis"

for spec in "$CORPUS"/oai/v2.0/yaml/*.yaml "$CORPUS"/oai/v3.0/*.yaml "$CORPUS"/oai/v3.1/tictactoe.yaml "$CORPUS"/oai/v3.2/*.yaml; do
  # Named as tests/corpus.rs names them (and EXCEPTIONS.md would): oai-<file stem without a version prefix>.
  name=$(basename "$spec" .yaml)
  name="oai-${name#3.2-}"
  # tictactoe: GET /board takes an `api-key` header (or OAuth2 client credentials), the square
  # operations a bearer token (or OAuth2); the other documents declare no security.
  run_spec "$name" "$spec" examples,coverage,fuzzing,stateful \
    --header "api-key: schemathesis" --header "Authorization: Bearer schemathesis"
done

[ "$ran" -gt 0 ] || { echo "schemathesis-corpus.sh: no spec named ${SELECTED[*]}" >&2; exit 2; }
echo
echo "== time per spec (specbox startup and Schemathesis)"
printf '   %s\n' "${timings[@]}"
echo "== reports in ${OUT#"$ROOT"/}"
[ "$failed" -eq 0 ] || echo "== failed: ${failed_names[*]}"
echo "schemathesis corpus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

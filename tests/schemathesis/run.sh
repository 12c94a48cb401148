#!/usr/bin/env bash
# Property-based tests of the HTTP API from its own OpenAPI document (GET /openapi.json), with
# schemathesis (from PyPI, pinned): every check, every phase including the stateful one (which
# follows the document's links: create -> get/update/execute -> execution -> cancel/download).
#
# It makes a fresh PostgreSQL database, starts the debug `actuate-api serve` on a free loopback
# port with queue names of its own, creates an API key, runs schemathesis against it within a
# hard time bound, and fails on any schemathesis failure or if the API process died. Everything
# it made (database, queues, API process) is removed when it ends, however it ends.
#
# It runs in two passes, so that the deterministic phases always run to the end and the random
# ones get a time budget of their own (2 to 3 minutes in all on a 2-core machine):
#   1. examples and coverage: cases derived from the document (boundaries of every length,
#      range and pattern, each required field missing, wrong types, ...), bounded by a timeout;
#   2. fuzzing and stateful: random cases, repeated until --max-time is spent.
# Then it checks that the API process is alive, that it logged no panic and no 5xx, and that
# the stateful chains reached executions (execute, read, list, cancel, download).
#
# Environment: ACTUATE_PG_URL (server URL without a database; scripts/setup.sh sets it),
# ACTUATE_ST_COVERAGE_BOUND (seconds pass 1 may take, default 180), ACTUATE_ST_MAX_TIME (pass
# 2's budget in seconds, default 75), ACTUATE_ST_MAX_EXAMPLES (override the cases per operation
# of tests/schemathesis/schemathesis.toml), ACTUATE_ST_SEED (replay a run: schemathesis prints
# its seed), ACTUATE_ST_REPORTS (report formats, default junit; e.g. junit,har),
# ACTUATE_ST_KEEP=1 (keep the API log and reports of a passing run; a failing run keeps them).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
here="$root/tests/schemathesis"

log() { printf 'schemathesis: %s\n' "$*" >&2; }

pg="${ACTUATE_PG_URL:-postgres://postgres@127.0.0.1:5432}"
# Seconds the first pass (examples, coverage) may take before it counts as a failure, and the
# time budget of the second (fuzzing and stateful, which run until it is spent).
coverage_bound="${ACTUATE_ST_COVERAGE_BOUND:-180}"
max_time="${ACTUATE_ST_MAX_TIME:-75}"

# The virtualenv: schemathesis and its dependencies at the versions in constraints.txt, from PyPI.
venv="$root/target/schemathesis-venv"
version=4.32.5
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$version"; then
  log "creating the virtualenv $venv"
  [ -x "$venv/bin/pip" ] || /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    -c "$here/constraints.txt" "schemathesis==$version"
fi

# The API builds its document from its code: build it so the document is current (a no-op
# after scripts/test.sh's build).
cargo build -q -p actuate-api --bin actuate-api --locked
api_bin="$root/target/debug/actuate-api"

run_id=$(cat /proc/sys/kernel/random/uuid)
db="actuate_test_schemathesis_${run_id//-/}"
prefix="test_${run_id}"
work="$root/target/schemathesis-run/$run_id"
mkdir -p "$work"
api_pid=""

cleanup() {
  local status=$?
  if [ -n "$api_pid" ] && kill -0 "$api_pid" 2>/dev/null; then
    kill -TERM "$api_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$api_pid" 2>/dev/null || true
    wait "$api_pid" 2>/dev/null || true
  fi
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if command -v rabbitmqctl >/dev/null 2>&1; then
    for q in "$prefix.executions" "$prefix.executions.dead"; do
      rabbitmqctl delete_queue "$q" >/dev/null 2>&1 || true
    done
  fi
  if [ "$status" -eq 0 ] && [ -z "${ACTUATE_ST_KEEP:-}" ]; then rm -rf "$work"; else log "logs and reports kept in $work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql "$pg/postgres" -qc "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="$pg/$db"
export AMQP_URL="${ACTUATE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export ACTUATE_QUEUE_PREFIX="$prefix"
export ACTUATE_BIND=127.0.0.1:0
export ACTUATE_LOG_FORMAT=text
export RUST_LOG="${RUST_LOG:-info}"
# Secrets on, so their routes answer as they do in a deployment (a fresh key per run).
ACTUATE_SECRETS_KEY=$(head -c 32 /dev/urandom | base64)
export ACTUATE_SECRETS_KEY

tenant=$(cat /proc/sys/kernel/random/uuid)
project=$(cat /proc/sys/kernel/random/uuid)
token=$("$api_bin" keys create --tenant "$tenant" --name schemathesis 2>>"$work/keys.log")

"$api_bin" serve >"$work/api.log" 2>&1 &
api_pid=$!
address=""
for _ in $(seq 1 100); do
  address=$(grep -o 'addr=127\.0\.0\.1:[0-9]*' "$work/api.log" | head -n 1 | cut -d= -f2 || true)
  [ -n "$address" ] && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log" >&2; log "the API did not start"; exit 1; }
  sleep 0.1
done
[ -n "$address" ] || { cat "$work/api.log" >&2; log "the API did not report its address"; exit 1; }
base="http://$address"
log "API at $base (database $db, queues $prefix.*)"

# The hooks read the schemas the running API serves (the document is built from its code).
curl -fsS "$base/openapi.json" -o "$work/openapi.json" || { log "no /openapi.json at $base"; exit 1; }
export ACTUATE_ST_DOCUMENT="$work/openapi.json"
export ACTUATE_ST_TENANT="$tenant" ACTUATE_ST_PROJECT="$project"
export SCHEMATHESIS_HOOKS="$here/hooks.py"
extra=()
[ -n "${ACTUATE_ST_SEED:-}" ] && extra+=(--seed "$ACTUATE_ST_SEED")
[ -n "${ACTUATE_ST_MAX_EXAMPLES:-}" ] && extra+=(--max-examples "$ACTUATE_ST_MAX_EXAMPLES")

# One schemathesis pass, within a hard wall-clock bound (timeout's 124/137 is a failure too).
run_pass() {
  local name=$1 bound=$2
  shift 2
  local started status=0
  started=$(date +%s)
  (
    cd "$work"
    timeout --kill-after=10 "$bound" "$venv/bin/schemathesis" --no-color \
      --config-file "$here/schemathesis.toml" \
      run "$base/openapi.json" \
      --url "$base" \
      -H "Authorization: Bearer $token" \
      --workers 1 \
      --request-timeout 20 \
      --generation-database none \
      --report "${ACTUATE_ST_REPORTS:-junit}" --report-dir "$work/report-$name" \
      "$@" "${extra[@]}"
  ) || status=$?
  log "$name: finished in $(( $(date +%s) - started )) s with status $status"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    log "FAILED: $name did not finish within $bound s"
  fi
  return "$status"
}
st_status=0
run_pass coverage "$coverage_bound" --phases examples,coverage || st_status=$?
if [ "$st_status" -eq 0 ]; then
  run_pass stateful "$((max_time + 45))" --phases fuzzing,stateful --max-time "$max_time" ||
    st_status=$?
fi

alive=1
kill -0 "$api_pid" 2>/dev/null || alive=0
if [ "$alive" -eq 0 ]; then
  tail -n 50 "$work/api.log" >&2
  log "FAILED: the API process died during the run"
  exit 1
fi
if grep -q 'panicked' "$work/api.log"; then
  grep -n 'panicked' "$work/api.log" | head -n 20 >&2
  log "FAILED: the API panicked during the run"
  exit 1
fi
if grep -qE ' status=5[0-9]{2} ' "$work/api.log"; then
  grep -E ' status=5[0-9]{2} ' "$work/api.log" | head -n 20 >&2
  log "FAILED: the API answered 5xx"
  exit 1
fi
if [ "$st_status" -ne 0 ]; then
  log "FAILED: schemathesis reported failures (status $st_status)"
  exit 1
fi

# The document's links and request schemas must let generated calls get as far as executions:
# count the API's answers (from its request log) that only an existing execution gets.
guid='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
missing=()
summary=()
reached() { # label, statuses, methods, path after /api/{tenantId}/{projectId}/ (all as ERE)
  local n
  n=$(grep -cE " status=($2) method=($3) path=/api/$tenant/$project/$4 " "$work/api.log" || true)
  summary+=("$1 $n")
  [ "$n" -gt 0 ] || missing+=("$1")
}
reached execute 200 'GET|POST' "action/execute/$guid"
reached "get execution" 200 GET "actionexecution/$guid"
reached "list executions" 200 GET "actionexecution/action/$guid"
# 409: the execution exists and had already finished (a first cancel finishes it).
reached cancel '200|409' POST "actionexecution/$guid/cancel"
reached "download package" 200 GET "actionexecution/downloadpackage/$guid"
log "answers about real executions: $(IFS=,; echo "${summary[*]}")"
if [ ${#missing[@]} -gt 0 ]; then
  log "FAILED: the run never reached: ${missing[*]} (the document's links or request schemas no longer let generated calls get that far)"
  exit 1
fi
log "passed"

#!/usr/bin/env bash
# Runs Actuate distributed on this machine (scripts/run.sh runs standalone mode instead):
# prepares PostgreSQL and RabbitMQ (scripts/setup.sh), creates the `actuate` database, prints a
# first API key when none exists, starts one worker (ACTUATE_WORKERS to run more) and serves
# the API on http://127.0.0.1:8080 (ACTUATE_BIND to change). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

if ! psql "$ACTUATE_PG_URL/postgres" -qtAc "select 1 from pg_database where datname = 'actuate'" | grep -q 1; then
  psql "$ACTUATE_PG_URL/postgres" -qc "CREATE DATABASE actuate" >/dev/null
fi
export DATABASE_URL="${DATABASE_URL:-$ACTUATE_PG_URL/actuate}"

cargo build --release --locked -p actuate-api -p actuate-worker
api=target/release/actuate-api
worker=target/release/actuate-worker
"$api" migrate

if [ "$("$api" keys list | wc -l)" -le 1 ]; then
  tenant=12345678-1234-1234-1234-123456789012
  token=$("$api" keys create --tenant "$tenant" --name "first key")
  cat >&2 <<MSG

  A first API key for tenant $tenant (shown only now; only its hash is stored):

    $token

  Try: curl -H "Authorization: Bearer $token" \\
         http://127.0.0.1:8080/api/$tenant/87654321-4321-4321-4321-210987654321/action
  More keys: $api keys create --tenant <uuid> [--project <uuid>] [--name <text>]

MSG
fi

pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in $(seq 1 "${ACTUATE_WORKERS:-1}"); do
  ACTUATE_WORKER_BIND="127.0.0.1:$((9089 + i))" ACTUATE_WORKER_ID="local-worker-$i" "$worker" &
  pids+=($!)
done
"$api" serve &
pids+=($!)
wait -n "${pids[@]}"

#!/usr/bin/env bash
# Runs every check and test of Actuate against real PostgreSQL and RabbitMQ (installed and
# started by scripts/setup.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

# Each test creates its own database actuate_test_<uuid>; clear those left by earlier runs.
stale=$(psql "$ACTUATE_PG_URL/postgres" -qtAc \
  "select datname from pg_database where datname like 'actuate\_test\_%'" || true)
for db in $stale; do
  psql "$ACTUATE_PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
done

# Tests use queues named test_<uuid>.*, deleted when they end; sweep those of killed runs.
if command -v rabbitmqctl >/dev/null 2>&1; then
  # `|| true`: with no such queues grep fails, and pipefail would end the script.
  { rabbitmqctl list_queues -q --no-table-headers name 2>/dev/null | grep '^test_' || true; } |
    while read -r q; do
      rabbitmqctl delete_queue "$q" >/dev/null 2>&1 || true
    done
fi

# SQLite test files (actuate_test_<uuid>/actuate.db under the temporary directory) of earlier
# runs.
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'actuate_test_*' -type d -mmin +60 \
  -exec rm -rf {} + 2>/dev/null || true

export ACTUATE_TEST_DATABASE_URL="$ACTUATE_PG_URL/postgres"
# The seed-client test runs the documentation's Python client with Debian's interpreter.
export ACTUATE_TEST_PYTHON="${ACTUATE_TEST_PYTHON:-/usr/bin/python3}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (binaries the cross-process tests start)"
cargo build --workspace --bins --locked
echo "== cargo test (storage: PostgreSQL)"
cargo test --workspace --locked
echo "== API and worker suites again, storage: SQLite (the same tests, the other backend)"
ACTUATE_TEST_BACKEND=sqlite cargo test --locked -p actuate-api -p actuate-worker \
  --test api --test worker
echo "== quick start (README, standalone mode)"
bash scripts/quickstart-check.sh
echo "== fault suite, short pass (private PostgreSQL and RabbitMQ; faults under load)"
target/debug/fault-suite
echo "== deploy checks (Dockerfile, compose file, Helm chart)"
bash scripts/check-deploy.sh
echo "== schemathesis (the API against its own OpenAPI document)"
bash tests/schemathesis/run.sh

#!/usr/bin/env bash
# Makes this machine ready to build, run and test Actuate, idempotently:
#   - installs what is missing with apt-get (Debian): PostgreSQL, RabbitMQ, a C toolchain,
#     Python 3 with requests (the seed-client test) and its headers (embedded Python),
#     headless Chromium and its WebDriver (the dashboard's browser test);
#   - starts PostgreSQL and RabbitMQ when they are not answering;
#   - checks that a Rust toolchain new enough is on PATH.
# Source it (`. scripts/setup.sh`) to get ACTUATE_PG_URL: the server URL (no database name)
# that the other scripts and the tests use.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

packages=(postgresql rabbitmq-server build-essential pkg-config python3 python3-dev
          python3-venv python3-requests curl ca-certificates chromium chromium-driver)
. "$(dirname "${BASH_SOURCE[0]}")"/build-deps.sh

# PostgreSQL: start the cluster if it does not answer on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL did not start"; exit 1; }
fi

# Connect as postgres over TCP: trust auth where it is set up (CI), else a password, which a
# fresh Debian install lacks, so it is set once through the local socket.
if [ -z "${ACTUATE_PG_URL:-}" ]; then
  if psql "postgres://postgres@127.0.0.1:5432/postgres" -qtAc 'select 1' >/dev/null 2>&1; then
    ACTUATE_PG_URL="postgres://postgres@127.0.0.1:5432"
  else
    if ! psql "postgres://postgres:postgres@127.0.0.1:5432/postgres" -qtAc 'select 1' >/dev/null 2>&1; then
      log "setting a local password for the postgres role (development machines only)"
      as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null
    fi
    ACTUATE_PG_URL="postgres://postgres:postgres@127.0.0.1:5432"
  fi
fi
export ACTUATE_PG_URL

# RabbitMQ: start the broker if it does not answer.
if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
  rabbitmq-diagnostics -q ping >/dev/null 2>&1 || { log "RabbitMQ did not start"; exit 1; }
fi

# The test virtualenv, from PyPI: tabulate for the test of ACTUATE_PYTHON_PATH (made with the
# interpreter the runners embed, so its site-packages match), aiosmtpd, the SMTP server the
# Email tests send to, and openapi-spec-validator for the API's /openapi.json.
venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/test-venv"
if ! "$venv/bin/python" -c 'import tabulate, aiosmtpd, openapi_spec_validator, standardwebhooks' >/dev/null 2>&1; then
  log "creating the test virtualenv $venv"
  [ -x "$venv/bin/pip" ] || /usr/bin/python3 -m venv "$venv"
  # standardwebhooks: the specification's reference library, an independent check of our
  # webhook signatures.
  "$venv/bin/pip" install -q tabulate==0.9.0 aiosmtpd==1.4.6 openapi-spec-validator==0.9.0 \
    standardwebhooks==1.3.0
fi
export ACTUATE_TEST_VENV_PYTHON="$venv/bin/python"
ACTUATE_TEST_PYTHON_PATH=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
export ACTUATE_TEST_PYTHON_PATH

log "ready: PostgreSQL at 127.0.0.1:5432, RabbitMQ at 127.0.0.1:5672"

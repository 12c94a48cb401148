#!/usr/bin/env bash
# Builds Actuate and starts it in standalone mode: the API, the scheduler and one worker in one
# process, on one SQLite file, with no PostgreSQL and no RabbitMQ
# (scripts/run-distributed.sh runs the distributed setup instead).
#
#   - installs with apt-get (Debian) only what building needs, when missing: a C toolchain,
#     pkg-config, Python 3 with its headers and libpython (the worker embeds CPython through
#     pyo3, built against /usr/bin/python3, see .cargo/config.toml), CA certificates for cargo;
#   - checks that a Rust toolchain is on PATH (install one with rustup);
#   - builds the `actuate` binary (`cargo build --release --locked -p actuate`);
#   - runs `actuate standalone` in place of this script: the API on ACTUATE_BIND (default
#     127.0.0.1:8080), the data in ACTUATE_DATA (default ./actuate.db, relative to the directory
#     this script was started from). The first start prints a tenant, a project, the base URL
#     and an API key (shown only then). Ctrl-C or SIGTERM stops it; it exits 0.
#
# Idempotent: a second run installs and rebuilds nothing that is up to date, and keeps the data.
# ACTUATE_PROFILE=debug builds and runs the debug binary instead (quicker to build; CI uses it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf 'run: %s\n' "$*" >&2; }

packages=(build-essential pkg-config python3 python3-dev ca-certificates)
. "$root/scripts"/build-deps.sh

profile="${ACTUATE_PROFILE:-release}"
case "$profile" in
  release) flags=(--release) ;;
  debug) flags=() ;;
  *) log "ACTUATE_PROFILE must be release or debug, not '$profile'"; exit 1 ;;
esac
# From the repository, so that cargo reads .cargo/config.toml (PYO3_PYTHON).
(cd "$root" && cargo build "${flags[@]}" --locked -p actuate)

export ACTUATE_DATA="${ACTUATE_DATA:-./actuate.db}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
exec "$target/$profile/actuate" standalone

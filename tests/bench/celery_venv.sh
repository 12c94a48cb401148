#!/usr/bin/env bash
# Create (or reuse) the Python venv for the Celery side of the benchmark and install
# tests/bench/requirements-celery.txt into it.
#
#   tests/bench/celery_venv.sh [VENV_DIR]     # default: <repo>/target/bench-venv
#
# Idempotent: the venv is created once, and pip runs again only when the requirements
# file changed (its sha256 is kept in VENV_DIR/.requirements.sha256).
# Progress goes to stderr; the only line on stdout is the venv's python path, so a
# caller can do `PY=$(tests/bench/celery_venv.sh)`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
reqs="$here/requirements-celery.txt"
venv="${1:-$repo/target/bench-venv}"
mkdir -p "$(dirname "$venv")"
venv="$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")"
py="$venv/bin/python"
stamp="$venv/.requirements.sha256"

if [[ ! -x "$py" ]]; then
    if ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then
        echo "celery_venv.sh: /usr/bin/python3 has no ensurepip; install Debian's python3-venv" >&2
        exit 1
    fi
    echo "celery_venv.sh: creating venv $venv" >&2
    /usr/bin/python3 -m venv "$venv" >&2
fi

want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "celery_venv.sh: installing $reqs" >&2
    "$py" -m pip install --disable-pip-version-check --no-input -q -r "$reqs" >&2
    # Fail here, not in the middle of a benchmark, if the install is unusable.
    "$py" -c 'import celery, kombu, sqlalchemy, psycopg2' >&2
    echo "$want" >"$stamp"
else
    echo "celery_venv.sh: $venv is up to date" >&2
fi

echo "$py"

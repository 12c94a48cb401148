#!/usr/bin/env bash
# Runs the README's quick start as a new user would, and fails loudly when it does not work.
#
#   1. builds `actuate` (`cargo build -p actuate --locked`, the debug build; ACTUATE_PROFILE=release
#      for the release build the README's scripts/run.sh makes) and starts it the README's way,
#      through scripts/run.sh (with the same ACTUATE_PROFILE; it finds the build done),
#      on a fresh ACTUATE_DATA in a temporary directory and a free loopback port
#      (ACTUATE_BIND=127.0.0.1:0: the port is read from what it prints). With ACTUATE_BIN set,
#      that binary is started instead (`$ACTUATE_BIN standalone`) and nothing is built;
#   2. compares what the first start prints with the README's sample (the block after the
#      line `<!-- quickstart-check: output -->`), and reads the base URL and the key from it;
#   3. runs the README's commands: the ```sh block after the line
#      `<!-- quickstart-check: commands -->`, taken from README.md itself so that the two cannot
#      drift, with TOKEN and BASE set as the README tells the reader to set them, under
#      `set -euo pipefail` and a time limit;
#   4. checks that the execution the block made ($EXECUTION) is Completed with every step
#      Completed, then stops the process with SIGTERM and checks that it exits 0.
#
# Part of scripts/test.sh (and so of CI). Needs curl and jq, installed with apt-get when missing,
# and python3 (which building needs anyway). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

start_timeout=120   # seconds from starting run.sh to the first start's output
block_timeout=120   # seconds for the README's commands (they poll for at most 60 s)
stop_timeout=60     # seconds from SIGTERM to exit

log() { printf 'quickstart-check: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

tools=()
command -v curl >/dev/null 2>&1 || tools+=(curl)
command -v jq >/dev/null 2>&1 || tools+=(jq)
if [ ${#tools[@]} -gt 0 ]; then
  log "installing ${tools[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tools[@]}" >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/actuate-quickstart.XXXXXX")
pid=
finish() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    log "its stdout:"; cat "$work/stdout" >&2 2>/dev/null || true
    log "the last lines of its stderr:"; tail -n 40 "$work/stderr" >&2 2>/dev/null || true
    log "kept $work"
  fi
}
trap finish EXIT
fail() { log "FAILED: $*"; exit 1; }

# --- 1. build and start ------------------------------------------------------------------------
if [ -n "${ACTUATE_BIN:-}" ]; then
  [ -x "$ACTUATE_BIN" ] || fail "ACTUATE_BIN=$ACTUATE_BIN is not an executable"
  start=("$ACTUATE_BIN" standalone)
else
  profile="${ACTUATE_PROFILE:-debug}"
  case "$profile" in
    debug) flags=() ;;
    release) flags=(--release) ;;
    *) fail "ACTUATE_PROFILE must be debug or release, not '$profile'" ;;
  esac
  echo "== cargo build ${flags[*]} -p actuate --locked"
  cargo build "${flags[@]}" -p actuate --locked
  start=(env ACTUATE_PROFILE="$profile" bash scripts/run.sh)
fi
echo "== starting ${start[*]} (ACTUATE_DATA in $work)"
# Its own session (and process group), so that nothing it started outlives a failed check. In
# a script, a background job is not a group leader, so setsid does not fork: $! is the process
# that run.sh replaces with `actuate standalone`, the one SIGTERM goes to.
ACTUATE_DATA="$work/actuate.db" ACTUATE_BIND=127.0.0.1:0 \
  setsid "${start[@]}" >"$work/stdout" 2>"$work/stderr" </dev/null &
pid=$!

# --- 2. what it prints -------------------------------------------------------------------------
for _ in $(seq $((start_timeout * 10))); do
  grep -q '^act_' "$work/stdout" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "actuate standalone exited before printing its API key"
  sleep 0.1
done
grep -q '^act_' "$work/stdout" || fail "no API key printed within ${start_timeout} s"

# The README's sample, with <placeholders> for what varies, line by line against the output.
awk '/^<!-- quickstart-check: output/ {m = 1; next}
     m == 1 && /^```/ {m = 2; next}
     m == 2 && /^```/ {exit}
     m == 2 {print}' README.md >"$work/sample"
[ -s "$work/sample" ] || fail "README.md has no block after <!-- quickstart-check: output -->"
python3 - "$work/sample" "$work/stdout" <<'PY' || fail "the first start's output differs from the README's sample"
import re, sys
sample = open(sys.argv[1]).read().splitlines()
printed = open(sys.argv[2]).read().splitlines()
ok = len(printed) >= len(sample)
for i, want in enumerate(sample):
    # Literal text, except <...> (any text) and the README's address (any loopback port).
    parts = re.split(r"(<[^>]+>|127\.0\.0\.1:8080)", want)
    pattern = "".join(
        r"\S+" if p.startswith("<") else r"127\.0\.0\.1:\d+" if p == "127.0.0.1:8080" else re.escape(p)
        for p in parts
    )
    got = printed[i] if i < len(printed) else "(nothing)"
    if not re.fullmatch(pattern, got):
        print(f"line {i + 1}: README {want!r}, printed {got!r}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
TOKEN=$(grep -m1 '^act_' "$work/stdout")
BASE=$(sed -n 's/^Base URL: //p' "$work/stdout" | head -n 1)
[ -n "$BASE" ] || fail "no 'Base URL: ' line"
export TOKEN BASE
echo "-- ok: the first start printed the README's lines; BASE=$BASE"

# --- 3. the README's commands ------------------------------------------------------------------
awk '/^<!-- quickstart-check: commands/ {m = 1; next}
     m == 1 && /^```/ {m = 2; next}
     m == 2 && /^```/ {exit}
     m == 2 {print}' README.md >"$work/commands.sh"
[ -s "$work/commands.sh" ] || fail "README.md has no block after <!-- quickstart-check: commands -->"
echo "== the README's commands"
cat "$work/commands.sh"
echo "-- output:"
{
  echo 'set -euo pipefail'
  cat "$work/commands.sh"
  # The execution the block made, for the checks below.
  cat <<'SH'
printf '%s\n' "$EXECUTION" >"$QUICKSTART_EXECUTION"
SH
} >"$work/run-commands.sh"
QUICKSTART_EXECUTION="$work/execution" timeout "$block_timeout" bash "$work/run-commands.sh" \
  || fail "the README's commands failed (exit status $?)"

# --- 4. the execution, then SIGTERM ------------------------------------------------------------
execution=$(cat "$work/execution")
detail=$(curl -sSf "$BASE/actionexecution/$execution" -H "Authorization: Bearer $TOKEN") \
  || fail "cannot read execution $execution"
if ! jq -e '.status == "Completed" and (.steps | length > 0) and all(.steps[]; .status == "Completed")' \
     >/dev/null <<<"$detail"; then
  printf '%s\n' "$detail" | jq . >&2
  fail "execution $execution is not Completed"
fi
echo "-- ok: execution $execution Completed"

kill -TERM "$pid"
for _ in $(seq $((stop_timeout * 10))); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running ${stop_timeout} s after SIGTERM"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "actuate standalone exited with status $status after SIGTERM"
echo "-- ok: SIGTERM, exit status 0"
echo "quickstart-check: passed"

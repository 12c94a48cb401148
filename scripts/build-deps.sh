# Sourced by scripts/setup.sh and scripts/run.sh (not run on its own): installs the Debian
# packages named in `packages` that are missing, and puts a rustup toolchain on PATH or stops.
# The caller defines `log` (its own prefix) and `packages`.

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  log "no Rust toolchain on PATH: install one with rustup (https://rustup.rs), Rust 1.94 or newer"
  exit 1
fi

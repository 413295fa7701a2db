#!/usr/bin/env bash
# Idempotent project setup: system packages, Rust toolchain check, npm deps,
# native addon build, TypeScript build. Each step only does work when needed
# and prints one line when it does; skipped steps are silent.
set -euo pipefail

# Debian packages the build and the tests need. Extend this list (one place).
DEB_PACKAGES=(
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev
  libopus-dev              # media::opus decodes with libopus's single-stream API
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-nice
  gstreamer1.0-libav
  gstreamer1.0-tools
  pkg-config
  build-essential
  chromium
  iproute2
  util-linux
  kamailio
  kamailio-websocket-modules
  kamailio-tls-modules     # Kamailio's SIP over TLS, the TLS peer of __test__/sip-transport.test.js
  sip-tester               # sipp: the plain-RTP caller and callee in __test__/sipp.test.js
  baresip                  # a SIP phone for __test__/baresip.test.js (plain RTP and SDES)
  espeak-ng                # speech for the bench and the voice-agent tests (bench/speech.js)
  gstreamer1.0-plugins-base-apps  # gst-discoverer-1.0: the recording tests check files with it
)

MIN_RUST_VERSION="1.92"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# A marker file whose mtime is "just before the build started": outputs are
# stamped with it, so a source edited during a build still triggers a rebuild.
STAMP_DIR="$(mktemp -d)"
trap 'rm -rf "$STAMP_DIR"' EXIT
new_stamp() { local f="$STAMP_DIR/$1"; : >"$f"; printf '%s' "$f"; }

# True if any file under the given paths (that exist) is newer than $1.
newer_than() {
  local ref="$1"; shift
  local paths=() p
  for p in "$@"; do [[ -e "$p" ]] && paths+=("$p"); done
  ((${#paths[@]})) || return 1
  [[ -n "$(find "${paths[@]}" -newer "$ref" -print -quit 2>/dev/null)" ]]
}

# --- (a) Debian packages ---------------------------------------------------
installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${DEB_PACKAGES[@]}" 2>/dev/null || true)"
# Status-Abbrev is 3 chars: want, status ('i' = installed), error flag (' ' = ok).
mapfile -t missing < <(awk -v want="${DEB_PACKAGES[*]}" '
  { if (substr($2, 2, 1) == "i" && length($2) == 2) ok[$1] = 1 }
  END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) print w[i] }
' <<<"$installed")
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; install: ${missing[*]}"
    SUDO=(sudo)
  fi
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${DEB_PACKAGES[@]}"
fi

# --- (b) Rust toolchain --------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_hint="a Rust toolchain >= $MIN_RUST_VERSION is required to build the native addon.
  Install it with rustup (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
  then open a new shell (or: source \"\$HOME/.cargo/env\") and re-run this script."
command -v cargo >/dev/null 2>&1 || die "cargo not found; $rust_hint"
if command -v rustc >/dev/null 2>&1; then
  rust_ver="$(rustc --version 2>/dev/null | awk '{print $2}')"
  if [[ -n "$rust_ver" ]] && \
     [[ "$(printf '%s\n%s\n' "$MIN_RUST_VERSION" "${rust_ver%%-*}" | sort -V | head -n1)" != "$MIN_RUST_VERSION" ]]; then
    die "rustc $rust_ver is too old; $rust_hint (or run: rustup update stable)"
  fi
fi

# --- (c) npm dependencies ------------------------------------------------------
npm_marker="node_modules/.package-lock.json"
if [[ ! -d node_modules || ! -e "$npm_marker" ]] || newer_than "$npm_marker" package.json package-lock.json; then
  stamp="$(new_stamp npm)"
  if [[ -f package-lock.json ]]; then
    log "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  else
    log "installing npm dependencies (npm install)"
    npm install --no-audit --no-fund --loglevel=error >/dev/null
    # npm install may (re)write package-lock.json: don't count that as a change.
    if [[ package-lock.json -nt "$stamp" ]]; then touch -r package-lock.json "$stamp"; fi
  fi
  mkdir -p node_modules
  touch -r "$stamp" "$npm_marker"
fi

# --- (d) native addon ----------------------------------------------------------
shopt -s nullglob
node_files=(./*.node)
shopt -u nullglob
newest_node=""
for f in "${node_files[@]}"; do
  if [[ -z "$newest_node" || "$f" -nt "$newest_node" ]]; then newest_node="$f"; fi
done
if [[ -z "$newest_node" ]] || newer_than "$newest_node" src Cargo.toml Cargo.lock build.rs; then
  stamp="$(new_stamp native)"
  log "building native addon (napi build --platform --release)"
  npx --no-install napi build --platform --release
  shopt -s nullglob
  node_files=(./*.node)
  shopt -u nullglob
  ((${#node_files[@]})) || die "napi build produced no .node file in $ROOT"
  touch -r "$stamp" "${node_files[@]}"
fi

# --- (e) TypeScript --------------------------------------------------------------
if [[ ! -e dist/index.js ]] || newer_than dist/index.js js tsconfig.json; then
  stamp="$(new_stamp tsc)"
  log "compiling TypeScript (tsc -p tsconfig.json)"
  # From an empty dist/: the output of a module that moved or was deleted must not linger
  # (npm pack ships dist/ as it is).
  rm -rf dist
  npx --no-install tsc -p tsconfig.json
  [[ -e dist/index.js ]] || die "tsc did not produce dist/index.js"
  touch -r "$stamp" dist/index.js
fi

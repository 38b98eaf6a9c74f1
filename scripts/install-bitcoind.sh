#!/usr/bin/env bash
# Builds bitcoind + bitcoin-cli (Bitcoin Core, regtest use) from the unmodified
# source shipped inside the crates.io crate `libbitcoinkernel-sys`, and caches
# the binaries outside the clone. Prints the path of bitcoind on stdout.
#
# Honours BITCOIND_EXE (an existing binary) and a `bitcoind` already on PATH.
set -euo pipefail

KERNEL_SYS_VERSION="0.4.1"   # pinned; also the version the `bitcoinkernel` crate uses
CACHE="${BAPAY_CACHE:-$HOME/.cache/bapay}"
DEST="$CACHE/bitcoin-core-$KERNEL_SYS_VERSION"

log() { echo "[install-bitcoind] $*" >&2; }

if [ -n "${BITCOIND_EXE:-}" ]; then
  [ -x "$BITCOIND_EXE" ] || { log "BITCOIND_EXE=$BITCOIND_EXE is not executable"; exit 1; }
  echo "$BITCOIND_EXE"; exit 0
fi
if [ -x "$DEST/bin/bitcoind" ] && [ -x "$DEST/bin/bitcoin-cli" ]; then
  echo "$DEST/bin/bitcoind"; exit 0
fi
if command -v bitcoind >/dev/null 2>&1; then
  command -v bitcoind; exit 0
fi

# One build at a time (parallel test runs, helpers): wait for the other one.
mkdir -p "$CACHE"
exec 9>"$CACHE/bitcoind-build.lock"
flock 9
if [ -x "$DEST/bin/bitcoind" ] && [ -x "$DEST/bin/bitcoin-cli" ]; then
  echo "$DEST/bin/bitcoind"; exit 0
fi

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
[ -f /usr/include/boost/version.hpp ] || need_apt+=(libboost-dev)
[ -f /usr/include/event2/event.h ] || need_apt+=(libevent-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing build dependencies: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

WORK="$CACHE/build-bitcoin-core-$KERNEL_SYS_VERSION"
mkdir -p "$WORK"
SRC="$WORK/libbitcoinkernel-sys-$KERNEL_SYS_VERSION"
if [ ! -f "$SRC/bitcoin/CMakeLists.txt" ]; then
  log "fetching libbitcoinkernel-sys $KERNEL_SYS_VERSION from crates.io"
  curl -fsSL --retry 3 -o "$WORK/src.crate" \
    "https://static.crates.io/crates/libbitcoinkernel-sys/libbitcoinkernel-sys-$KERNEL_SYS_VERSION.crate"
  tar -xzf "$WORK/src.crate" -C "$WORK"
fi

JOBS="$(nproc 2>/dev/null || echo 2)"
log "configuring Bitcoin Core (this build takes ~15 minutes on 2 cores, once)"
cmake -S "$SRC/bitcoin" -B "$WORK/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DWITH_EMBEDDED_ASMAP=OFF -DENABLE_WALLET=OFF -DBUILD_TESTS=OFF -DBUILD_BENCH=OFF \
  -DBUILD_GUI=OFF -DENABLE_IPC=OFF -DBUILD_FUZZ_BINARY=OFF -DBUILD_KERNEL_LIB=OFF >&2
cmake --build "$WORK/build" --target bitcoind bitcoin-cli -j "$JOBS" >&2
mkdir -p "$DEST/bin.tmp"
cp "$WORK/build/bin/bitcoind" "$WORK/build/bin/bitcoin-cli" "$DEST/bin.tmp/"
rm -rf "$DEST/bin"; mv "$DEST/bin.tmp" "$DEST/bin"
rm -rf "$WORK"
log "installed $DEST/bin/bitcoind"
echo "$DEST/bin/bitcoind"

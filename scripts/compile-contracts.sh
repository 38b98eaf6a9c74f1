#!/usr/bin/env bash
# Compiles the Solidity contracts of contracts/ with the pinned solcjs
# (standard-JSON mode, fixed settings) into one committed artifact each:
#   contracts/artifacts/FairPay.json          (contracts/FairPay.sol, importing
#                                              contracts/sol/FairPayBase.sol and
#                                              contracts/sol/FairPayAudit.sol)
#   contracts/artifacts/ReentrantWorker.json  (contracts/test/ReentrantWorker.sol, tests only)
# Each artifact holds abi, bytecode, deployedBytecode, the compiler version and
# the settings. Output is deterministic (no metadata hash, sorted keys).
#
# Usage: scripts/compile-contracts.sh           rewrite the committed artifacts
#        scripts/compile-contracts.sh --check   recompile into a temp dir, fail
#                                               if a committed artifact differs
# Needs SOLCJS_EXE (from scripts/install-tools.sh); installs the tools if unset.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CONTRACTS="$ROOT/contracts"
ARTIFACTS="$CONTRACTS/artifacts"
SOLC_VERSION_WANTED="0.8.30"

CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [ -z "${SOLCJS_EXE:-}" ] || [ ! -f "${SOLCJS_EXE:-}" ]; then
  # Only solcjs is needed here: do not let install-tools build bitcoind.
  eval "$(BITCOIND_EXE="${BITCOIND_EXE:-/bin/true}" "$HERE/install-tools.sh")"
fi
command -v node >/dev/null 2>&1 || { echo "compile-contracts: node (Node.js) is required" >&2; exit 1; }
VERSION="$(node "$SOLCJS_EXE" --version)"
case "$VERSION" in
  "$SOLC_VERSION_WANTED"+*) ;;
  *) echo "compile-contracts: solcjs $VERSION is not the pinned $SOLC_VERSION_WANTED" >&2; exit 1 ;;
esac

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# name:source path (relative to contracts/)
UNITS=("FairPay:FairPay.sol" "ReentrantWorker:test/ReentrantWorker.sol")

for unit in "${UNITS[@]}"; do
  name="${unit%%:*}"; src="${unit#*:}"
  node - "$CONTRACTS" "$src" "$name" "$SOLCJS_EXE" "$OUT/$name.json" <<'JS'
const fs = require('fs');
const path = require('path');
const [dir, src, name, solcPath, outFile] = process.argv.slice(2);
const solc = require(path.dirname(solcPath)); // the package (solc.js itself is the CLI)
const settings = {
  evmVersion: 'prague',
  viaIR: true,
  optimizer: { enabled: true, runs: 1000000 },
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};
// Every .sol under contracts/ is a source, so imports (sol/*.sol) resolve by
// their path relative to contracts/.
const sources = {};
const walk = (rel) => {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) {
    const r = rel ? rel + '/' + e.name : e.name;
    if (e.isDirectory() && !['artifacts', 'target', 'node_modules'].includes(e.name)) walk(r);
    else if (e.isFile() && e.name.endsWith('.sol')) sources[r] = { content: fs.readFileSync(path.join(dir, r), 'utf8') };
  }
};
walk('');
const input = { language: 'Solidity', sources, settings };
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
for (const e of out.errors || []) process.stderr.write(e.formattedMessage + '\n');
if (errors.length) process.exit(1);
const c = out.contracts[src][name];
const sorted = (v) => Array.isArray(v) ? v.map(sorted)
  : (v && typeof v === 'object') ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
const artifact = {
  contractName: name,
  sourceName: src,
  compiler: { name: 'solc', version: solc.version() },
  settings: sorted({ evmVersion: settings.evmVersion, viaIR: settings.viaIR, optimizer: settings.optimizer, metadata: settings.metadata }),
  abi: c.abi,
  bytecode: '0x' + c.evm.bytecode.object,
  deployedBytecode: '0x' + c.evm.deployedBytecode.object,
};
fs.writeFileSync(outFile, JSON.stringify(artifact, null, 2) + '\n');
JS
done

if [ "$CHECK" = 1 ]; then
  status=0
  for unit in "${UNITS[@]}"; do
    name="${unit%%:*}"
    if ! cmp -s "$OUT/$name.json" "$ARTIFACTS/$name.json"; then
      echo "compile-contracts --check: contracts/artifacts/$name.json is stale (does not match its source); run scripts/compile-contracts.sh" >&2
      status=1
    fi
  done
  [ "$status" = 0 ] && echo "compile-contracts --check: artifacts are up to date" >&2
  exit "$status"
fi

mkdir -p "$ARTIFACTS"
for unit in "${UNITS[@]}"; do
  name="${unit%%:*}"
  cp "$OUT/$name.json" "$ARTIFACTS/$name.json"
  echo "wrote contracts/artifacts/$name.json" >&2
done

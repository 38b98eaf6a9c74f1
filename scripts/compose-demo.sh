#!/usr/bin/env bash
# The demo container of docker-compose.yml: funds O and the calculators
# (regtest faucet, anvil balances), then runs an honest job (C0, C1) and a job
# with the lazy calculator C2 on each chain through the `bapay` CLI, mining a
# block per second (and moving anvil's clock) via the chain-adapter. Exit status 0 only if both jobs end as they must.
# The CLI's certificates: BAPAY_TLS_DIR (the certs-operator volume: user.pem
# for O and the calculators' GetInfo, admin.pem for faucet and mining).
set -euo pipefail
: "${BAPAY_TLS_DIR:?the certs-operator volume}"
A=http://chain-adapter:50051
O=http://outsourcer:50061
C0=http://calculator-0:50062 C1=http://calculator-1:50062 C2=http://calculator-2:50062
W=100000000000000000000   # 100 ETH on anvil
bapay --outsourcer "$O" fund --chain-adapter "$A" --sat 2000000 --wei "$W"
for c in "$C0" "$C1" "$C2"; do bapay --outsourcer "$O" fund --chain-adapter "$A" --calculator "$c" --sat 500000 --wei "$W"; done
echo "=== Bitcoin: honest job (C0, C1) ==="
bapay --outsourcer "$O" submit --calculators "$C0,$C1" --request-id compose-honest \
  --rounds 16 --mine-via "$A" --mine-every-ms 1000
echo "=== Bitcoin: job with the lazy calculator (C0, C1, C2) ==="
out=$(bapay --outsourcer "$O" submit --calculators "$C0,$C1,$C2" --request-id compose-lazy \
  --rounds 16 --mine-via "$A" --mine-every-ms 1000 | tee /dev/stderr)
grep -q "C2 REDEEMED" <<<"$out"
echo "=== Ethereum: honest job (C0, C1) ==="
bapay --outsourcer "$O" submit --chain ethereum --calculators "$C0,$C1" --request-id compose-eth-honest \
  --rounds 16 --mine-via "$A" --mine-every-ms 1000 --anvil-seconds 60
echo "=== Ethereum: job with the lazy calculator (C0, C1, C2) ==="
out=$(bapay --outsourcer "$O" submit --chain ethereum --calculators "$C0,$C1,$C2" --request-id compose-eth-lazy \
  --rounds 16 --mine-via "$A" --mine-every-ms 1000 --anvil-seconds 60 | tee /dev/stderr)
grep -q "C2 REDEEMED" <<<"$out"
echo "demo finished: on both chains the lazy calculator was caught and O got its fee and deposit back"

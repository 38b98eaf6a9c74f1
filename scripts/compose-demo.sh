#!/usr/bin/env bash
# The demo container of docker-compose.yml: funds O and the calculators from
# the regtest faucet, then runs an honest job (C0, C1) and a job with the
# lazy calculator C2 through the `bapay` CLI, mining a block per second via
# the chain-adapter. Exit status 0 only if both jobs end as they must.
set -euo pipefail
A=http://chain-adapter:50051
O=http://outsourcer:50061
C0=http://calculator-0:50062 C1=http://calculator-1:50062 C2=http://calculator-2:50062
bapay --outsourcer "$O" fund --chain-adapter "$A" --sat 2000000
for c in "$C0" "$C1" "$C2"; do bapay --outsourcer "$O" fund --chain-adapter "$A" --calculator "$c" --sat 500000; done
echo "=== Bitcoin: honest job (C0, C1) ==="
bapay --outsourcer "$O" submit --calculators "$C0,$C1" --request-id compose-honest \
  --rounds 16 --mine-via "$A" --mine-every-ms 1000
echo "=== Bitcoin: job with the lazy calculator (C0, C1, C2) ==="
out=$(bapay --outsourcer "$O" submit --calculators "$C0,$C1,$C2" --request-id compose-lazy \
  --rounds 16 --mine-via "$A" --mine-every-ms 1000 | tee /dev/stderr)
grep -q "C2 REDEEMED" <<<"$out"
echo "demo finished: the lazy calculator was caught and O redeemed its fee and deposit"

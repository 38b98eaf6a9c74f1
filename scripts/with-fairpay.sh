#!/usr/bin/env bash
# docker-compose.yml: runs a daemon (`$1`, with its flags) with the FairPay
# address the `fairpay` container deployed, as BAPAY_<ROLE>__ETHEREUM__CONTRACT,
# and, for a calculator, the arbiter it trusts.
set -euo pipefail
role=$(tr '[:lower:]-' '[:upper:]_' <<<"$1")
export "BAPAY_${role}__ETHEREUM__CONTRACT=$(cat /fairpay/address)"
# A calculator trusts only the arbiter it is pointed at
# (BAPAY_TRUSTED_ARBITER_URL): its key and address from its GetInfo, asked
# over TLS with the calculator's own certificate (BAPAY_TLS_DIR,
# BAPAY_TLS_ROLE=calculator in docker-compose.yml).
if [ -n "${BAPAY_TRUSTED_ARBITER_URL:-}" ]; then
  export "BAPAY_${role}__TRUSTED_ARBITERS=$(bapay arbiter-id --arbiter "$BAPAY_TRUSTED_ARBITER_URL")"
fi
exec "$@"

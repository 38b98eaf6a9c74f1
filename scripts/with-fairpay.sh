#!/usr/bin/env bash
# docker-compose.yml: runs a daemon (`$1`, with its flags) with the FairPay
# address the `fairpay` container deployed, as BAPAY_<ROLE>__ETHEREUM__CONTRACT.
set -euo pipefail
role=$(tr '[:lower:]-' '[:upper:]_' <<<"$1")
export "BAPAY_${role}__ETHEREUM__CONTRACT=$(cat /fairpay/address)"
exec "$@"

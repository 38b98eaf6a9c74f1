#!/usr/bin/env bash
# The `certs` container of docker-compose.yml: one deployment CA (kept in
# /out/ca with its key), and for each service a volume with the CA
# certificate and only that service's certificate and key, valid for its
# compose host name. Idempotent: a second `docker compose up` keeps the PKI.
# Runs as root to write the fresh volumes, then gives them to uid 10001 (the
# image's `bapay` user) with the keys 0600.
set -euo pipefail
if [ ! -s /out/ca/ca-key.pem ]; then
  tmp=$(mktemp -d)
  bapay certs --out "$tmp" --hosts ca >/dev/null
  cp "$tmp/ca.pem" "$tmp/ca-key.pem" /out/ca/
  rm -rf "$tmp"
fi
issue() { # issue SERVICE HOSTS ROLE...
  local svc=$1 hosts=$2; shift 2
  [ -s "/out/$svc/ca.pem" ] && return 0
  for role in "$@"; do
    bapay certs --ca /out/ca --out "/out/$svc" --role "$role" --hosts "$hosts"
  done
}
issue chain-adapter chain-adapter chain-adapter
issue arbiter arbiter arbiter
issue calculator-0 calculator-0 calculator
issue calculator-1 calculator-1 calculator
issue calculator-2 calculator-2 calculator
issue outsourcer outsourcer outsourcer
issue operator demo user admin
chown -R 10001:10001 /out
chmod 0600 /out/*/*-key.pem
echo "certificates ready"

#!/usr/bin/env bash
# `make test`: docker-compose.yml must parse (`$DOCKER_COMPOSE config`, which
# needs no engine) and keep the promises its header makes: bitcoind and
# anvil reachable only by the chain-adapter, no RPC password, every BAPay
# daemon with its own certificate volume and TLS files, a named data volume,
# each calculator advertising its own compose URL,
# never root (the image's USER), and each one-shot container in place.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DOCKER_COMPOSE:?run through make test, or eval \"\$(scripts/install-tools.sh)\" first}"
$DOCKER_COMPOSE -f docker-compose.yml config > /tmp/bapay-compose.$$.yml
trap 'rm -f /tmp/bapay-compose.$$.yml' EXIT
grep -q '^USER bapay' Dockerfile || { echo "Dockerfile: the image must run as USER bapay" >&2; exit 1; }
python3 - /tmp/bapay-compose.$$.yml <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
svc = c["services"]
bad = []
def nets(name):
    n = svc[name].get("networks", {})
    return set(n if isinstance(n, (list, dict)) else [])
for node in ("bitcoind", "anvil"):
    if nets(node) != {"chain"}:
        bad.append(f"{node} must be on the chain network only, is on {sorted(nets(node))}")
on_chain = {s for s in svc if "chain" in nets(s)}
if on_chain != {"bitcoind", "anvil", "chain-adapter"}:
    bad.append(f"only bitcoind, anvil and the chain-adapter may be on the chain network: {sorted(on_chain)}")
if not c.get("networks", {}).get("chain", {}).get("internal"):
    bad.append("the chain network must be internal")
text = open("docker-compose.yml").read()
for word in ("rpcpassword", "rpc-password", "rpcuser"):
    if word in text:
        bad.append(f"no fixed RPC credentials: found {word}")
prefix = {"chain-adapter": "BAPAY_CHAIN", "arbiter": "BAPAY_ARBITER",
          "outsourcer": "BAPAY_OUTSOURCER", "calculator": "BAPAY_CALCULATOR"}
for name, s in svc.items():
    if s.get("image") != "bapay:local" or name in ("certs", "fairpay", "demo"):
        continue
    role = "calculator" if name.startswith("calculator") else name
    env = s.get("environment", {})
    vols = [v if isinstance(v, str) else f"{v.get('source')}:{v.get('target')}" for v in s.get("volumes", [])]
    for k in ("CA_FILE", "CERT_FILE", "KEY_FILE"):
        if f"{prefix[role]}__TLS__{k}" not in env:
            bad.append(f"{name}: no {prefix[role]}__TLS__{k}")
    if not any(v.startswith(f"certs-{name}:") for v in vols):
        bad.append(f"{name}: no certs-{name} volume of its own")
    if not any(v.startswith(f"data-{name}:") and ":/data" in v for v in vols):
        bad.append(f"{name}: no named data volume at /data")
    if s.get("user") not in (None, "10001", "bapay"):
        bad.append(f"{name}: runs as {s.get('user')}")
    if role == "calculator" and not str(env.get("BAPAY_CALCULATOR__ADVERTISE_URL", "")).startswith(f"http://{name}:"):
        bad.append(f"{name}: BAPAY_CALCULATOR__ADVERTISE_URL must be http://{name}:<port> (signed into acceptances)")
    if "--insecure-plaintext" in " ".join(map(str, s.get("command", []))):
        bad.append(f"{name}: --insecure-plaintext")
for one_shot in ("certs", "fairpay"):
    if one_shot not in svc:
        bad.append(f"no {one_shot} service")
if bad:
    print("docker-compose.yml:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"docker-compose.yml: {len(svc)} services, checks passed")
PY

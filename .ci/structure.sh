#!/usr/bin/env bash
# Structure rules `make lint` enforces (docs/architecture.md):
# - the role crates choose the chain once, in settlement/ (dispute/ for the
#   arbiter): no `chain ==` or `ChainKind::Ethereum =>` branch elsewhere;
# - no source file outside tests and protos is over 400 lines.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
branches=$(grep -rnE "chain *== *|ChainKind::Ethereum *=>|if rec\.chain" \
  outsourcer/src calculator/src arbiter/src \
  | grep -vE "/(settlement|dispute)/|/tests?(_[a-z]+)?\.rs:|/tests/" || true)
if [ -n "$branches" ]; then
  echo "branches on the chain outside settlement/ (choose the chain once, through the settlement trait):"
  echo "$branches"
  fail=1
fi
long=$(git ls-files '*.rs' | grep -vE '(^|/)tests?(/|\.rs$)|_tests?\.rs$|tests_[a-z]+\.rs$' \
  | xargs wc -l | awk '$2 != "total" && $1 > 400 {print}')
if [ -n "$long" ]; then
  echo "source files over 400 lines (split them):"
  echo "$long"
  fail=1
fi
exit $fail

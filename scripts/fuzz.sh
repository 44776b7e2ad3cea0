#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each.
#   FUZZTIME=30s scripts/fuzz.sh            # all targets
#   FUZZTIME=1m scripts/fuzz.sh ./registry/ # one package
# FUZZMINIMIZETIME (default 5x) bounds input minimisation, which otherwise
# starves slow targets such as video ingestion.
# New crashers are written by `go test` under the package's
# testdata/fuzz/<Target>/ and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
pkgs=("${@:-./...}")
failed=0
total=0
while read -r pkg; do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for t in $targets; do
    total=$((total + 1))
    echo "== $pkg $t ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZETIME:-5x}" "$pkg"; then
      failed=$((failed + 1))
    fi
  done
done < <(go list "${pkgs[@]}")
echo "fuzz: $total targets, $failed failed"
[ "$failed" -eq 0 ]

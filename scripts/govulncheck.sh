#!/usr/bin/env bash
# Runs govulncheck (golang.org/x/vuln) over the module.
#   scripts/govulncheck.sh                 # every package
#   scripts/govulncheck.sh ./kyc/...       # some packages
#   GOVULNDB=file:///path/to/mirror scripts/govulncheck.sh   # offline mirror
#
# Exit status:
#   0  no known vulnerability reached by our code, or the vulnerability
#      database could not be fetched (printed plainly as "DB unreachable";
#      nothing was checked then)
#   3  vulnerabilities found (govulncheck's own code)
#   1  govulncheck could not run for another reason (packages fail to
#      load, a go.sum entry is missing, ...): fix that first
# Set GOVULNCHECK_STRICT=1 to make an unreachable database fail (exit 2).
set -uo pipefail
cd "$(dirname "$0")/.."

version=v1.9.0
db=${GOVULNDB:-https://vuln.go.dev}
pkgs=("${@:-./...}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out

# Installed into a temp dir rather than `go run`, which turns every
# non-zero exit into 1 and would hide govulncheck's "found" status 3.
if ! GOBIN=$tmp go install "golang.org/x/vuln/cmd/govulncheck@$version"; then
  echo "govulncheck: could not build govulncheck@$version (module proxy unreachable?)" >&2
  exit 1
fi
echo "== govulncheck@$version -db $db ${pkgs[*]}"
"$tmp/govulncheck" -db "$db" "${pkgs[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}

case $rc in
0)
  echo "govulncheck: no known vulnerabilities reached"
  exit 0
  ;;
3)
  echo "govulncheck: VULNERABILITIES FOUND (see above)" >&2
  exit 3
  ;;
esac
unreachable=0
if grep -qE 'fetching vulnerabilities|no such host|dial tcp|connection refused|i/o timeout|TLS handshake' "$out" &&
  ! grep -q 'loading packages' "$out"; then
  unreachable=1
elif grep -q 'creating client:' "$out" && [[ $db == http://* || $db == https://* ]]; then
  # govulncheck reports an unreachable custom database as "unrecognized
  # vulndb format"; tell the two apart by fetching its index ourselves.
  if ! command -v curl >/dev/null || ! curl -sS -o /dev/null --max-time 20 "$db/index/db.json" 2>/dev/null; then
    unreachable=1
  fi
fi
if [ "$unreachable" = 1 ]; then
  echo "govulncheck: DB unreachable ($db): the vulnerability database could not be fetched from this machine; NOTHING WAS CHECKED." >&2
  echo "govulncheck: run it where $db is reachable, or point GOVULNDB at a local mirror (file:///...)." >&2
  if [ "${GOVULNCHECK_STRICT:-0}" = 1 ]; then
    exit 2
  fi
  exit 0
fi
echo "govulncheck: could not run (exit $rc); see the messages above" >&2
exit 1

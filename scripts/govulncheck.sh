#!/usr/bin/env bash
# Runs govulncheck (golang.org/x/vuln) over the module.
#   scripts/govulncheck.sh                 # every package
#   scripts/govulncheck.sh ./kyc/...       # some packages
#   GOVULNDB=file:///path/to/mirror scripts/govulncheck.sh   # offline mirror
#
# Database: $GOVULNDB when set; otherwise https://vuln.go.dev, and when that
# cannot be reached, a snapshot of the same database built locally from the
# golang.org/x/vulndb module (fetched through the Go module proxy, pinned
# below, cached under $HOVIYAT_CACHE or ~/.cache/hoviyat). The snapshot
# knows nothing published after its date; the output says which was used.
#
# Exit status:
#   0  no known vulnerability reached by our code, or no database could be
#      read (printed plainly as "DB unreachable"; nothing was checked then)
#   3  vulnerabilities found in the module's dependencies (govulncheck's own
#      code): upgrade them
#   4  only the Go standard library of the toolchain in use is affected:
#      build with the Go release it names (a host's own toolchain decides
#      what ships; our code and dependencies are clean)
#   1  govulncheck could not run for another reason (packages fail to
#      load, a go.sum entry is missing, ...): fix that first
# GOVULNCHECK_STRICT=1 makes an unreachable database fail (exit 2).
set -uo pipefail
cd "$(dirname "$0")/.."

version=v1.9.0
# Snapshot of the Go vulnerability database (golang.org/x/vulndb, dated
# 2026-11-05); raise it to a newer pseudo-version to learn newer advisories.
vulndb_version=v0.0.0-20261105234957-e22db6528018
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

# unreachable DB: 0 if govulncheck's output ($out) says the database
# could not be read.
unreachable() {
  local db=$1
  if grep -qE 'fetching vulnerabilities|no such host|dial tcp|connection refused|i/o timeout|TLS handshake' "$out" &&
    ! grep -q 'loading packages' "$out"; then
    return 0
  fi
  if grep -q 'creating client:' "$out" && [[ $db == http://* || $db == https://* ]]; then
    # govulncheck reports an unreachable custom database as "unrecognized
    # vulndb format"; tell the two apart by fetching its index ourselves.
    if ! command -v curl >/dev/null || ! curl -sS -o /dev/null --max-time 20 "$db/index/db.json" 2>/dev/null; then
      return 0
    fi
  fi
  return 1
}

# snapshot: builds (once) the v1 database layout govulncheck reads from
# the OSV files in golang.org/x/vulndb, with that module's own indexdb
# command, and prints its file:// URL.
snapshot() {
  local cache=${HOVIYAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hoviyat}
  local dir=$cache/vulndb-$vulndb_version
  if [ -f "$dir/index/modules.json" ]; then
    echo "file://$dir"
    return 0
  fi
  local src
  src=$(go mod download -json "golang.org/x/vulndb@$vulndb_version" 2>/dev/null |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -d "$src/data/osv" ] || return 1
  (cd "$src" && go build -o "$tmp/indexdb" ./cmd/indexdb) >&2 || return 1
  mkdir -p "$cache" && rm -rf "$dir.tmp" &&
    "$tmp/indexdb" -vulns "$src/data/osv" -out "$dir.tmp" >&2 &&
    mv "$dir.tmp" "$dir" || return 1
  echo "file://$dir"
}

run() {
  echo "== govulncheck@$version -db $1 ${pkgs[*]}"
  "$tmp/govulncheck" -db "$1" "${pkgs[@]}" 2>&1 | tee "$out"
  return "${PIPESTATUS[0]}"
}

db=${GOVULNDB:-https://vuln.go.dev}
run "$db"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && [ -z "${GOVULNDB:-}" ] && unreachable "$db"; then
  echo "govulncheck: $db unreachable; using a local snapshot of the database (golang.org/x/vulndb@$vulndb_version): advisories published after it are not known to this check" >&2
  if snap=$(snapshot); then
    db=$snap
    run "$db"
    rc=$?
  else
    echo "govulncheck: could not build the snapshot (module proxy unreachable?)" >&2
  fi
fi

case $rc in
0)
  echo "govulncheck: no known vulnerabilities reached (database: $db)"
  exit 0
  ;;
3)
  # Every reached finding in the standard library ("Found in:
  # net/http@go1.26.8")? Then the toolchain, not the code, needs the fix.
  if grep -q 'Found in:' "$out" && ! grep 'Found in:' "$out" | grep -vq '@go1\.'; then
    fixed=$(grep -o 'Fixed in: [^ ]*@go[0-9.]*' "$out" | sed 's/.*@go//' | sort -V | tail -n1)
    echo "govulncheck: only the Go standard library of $(go env GOVERSION) is affected (see above); our code and dependencies are clean. Build and run with Go ${fixed:-newer} or later." >&2
    exit 4
  fi
  echo "govulncheck: VULNERABILITIES FOUND in dependencies (see above)" >&2
  exit 3
  ;;
esac
if unreachable "$db"; then
  echo "govulncheck: DB unreachable ($db): the vulnerability database could not be fetched from this machine; NOTHING WAS CHECKED." >&2
  echo "govulncheck: run it where $db is reachable, or point GOVULNDB at a local mirror (file:///...)." >&2
  if [ "${GOVULNCHECK_STRICT:-0}" = 1 ]; then
    exit 2
  fi
  exit 0
fi
echo "govulncheck: could not run (exit $rc); see the messages above" >&2
exit 1

#!/usr/bin/env bash
# make test: install what is missing, start a throw-away PostgreSQL, vet and
# run every test. Environment:
#   HOVIYAT_MODELS  models directory (CI: ../shared/models)
#   HOVIYAT_DATA    test media directory (CI: ../shared/data)
#   CI=true         tests that need models/data fail instead of skipping
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
trap './scripts/pg.sh stop' EXIT
eval "$(./scripts/pg.sh start)"
export HOVIYAT_PG_DSN

echo "== go vet"
go vet ./...
echo "== go test (race) on the core"
go test -race -count=1 -timeout 15m ./reason/... ./registry/... ./policy/... ./kyc/... ./store/... ./vault/...
echo "== go test (all)"
go test -count=1 -timeout 20m ./...

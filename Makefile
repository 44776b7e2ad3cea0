# Hoviyat - make targets. The quick start is `make demo` and `make test`.
GO ?= go
# Models and media: ../shared/* in the development environment, else ./models
# (filled by `make models`) and ./data.
export HOVIYAT_MODELS ?= $(if $(wildcard ../shared/models),$(abspath ../shared/models),$(abspath models))
export HOVIYAT_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(abspath data))

.PHONY: all setup test demo models build vet bench fuzz eval vulncheck reliability testmedia clean

all: build

setup: ## install missing system packages (apt) and Go modules
	./scripts/setup.sh
	$(GO) mod download

build: setup
	$(GO) build ./...

vet:
	$(GO) vet ./...

test: ## vet and run every test against a throw-away PostgreSQL
	./scripts/test.sh

demo: setup ## run the quickstart on embedded defaults and print a decision
	$(GO) run ./examples/quickstart

fuzz: ## run every fuzz target for FUZZTIME (default 20s) each
	./scripts/fuzz.sh

bench: ## run the Go benchmarks (medians of 6 runs) into out/bench.txt
	mkdir -p out
	eval "$$(./scripts/pg.sh start)"; trap './scripts/pg.sh stop' EXIT; \
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -timeout 60m ./... | tee out/bench.txt

models: ## download the models from their official sources and check their SHA-256
	./scripts/models.sh $(or $(MODELS_DIR),models)

eval: ## run the evaluation over $$HOVIYAT_DATA into out/eval
	$(GO) run ./cmd/hoviyat eval --data $(HOVIYAT_DATA) --out out/eval --doc docs/EVALUATION.md

testmedia: ## derive the perturbation/replay videos from $$HOVIYAT_DATA into out/media
	$(GO) run ./internal/testmedia -data $(HOVIYAT_DATA) -out out/media

vulncheck: ## govulncheck (exit 3: dependency findings, 4: standard library only; local DB snapshot when vuln.go.dev is unreachable)
	./scripts/govulncheck.sh

reliability: ## full-size reliability runs; figures in out/reliability/figures.jsonl
	eval "$$(./scripts/pg.sh start)"; trap './scripts/pg.sh stop' EXIT; \
	HOVIYAT_RELIABILITY_FULL=1 HOVIYAT_RELIABILITY_OUT=out/reliability $(GO) test -count=1 -v -timeout 30m ./internal/reliability/

clean:
	rm -rf out

# Hoviyat - make targets. The quick start is `make demo` and `make test`.
GO ?= go
export HOVIYAT_MODELS ?= $(abspath ../shared/models)
export HOVIYAT_DATA ?= $(abspath ../shared/data)

.PHONY: all setup test demo models build vet bench fuzz eval clean

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

clean:
	rm -rf out

# Odins Ravne control plane. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SWIFT ?= swift
CONFIG ?= debug
BIN = .build/$(CONFIG)
EVENT ?= events/job-done.json
DEMO_DIR ?=
DEMO_ARGS ?=
FUNCTION ?=
FUNCTIONS ?=

.PHONY: help deps build test bench replay demo package deploy destroy clean venv

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## Install the Debian packages the build needs (does nothing when present)
	@scripts/deps.sh

venv: ## Create .venv with the Python test peers (moto, botocore, cfn-lint)
	@scripts/venv.sh

build: deps ## Build every binary (CONFIG=debug|release)
	$(SWIFT) build -c $(CONFIG)

test: deps venv ## Run the whole test suite against real peers (moto_server, FFmpeg, Runtime API emulator)
	scripts/with-moto.sh $(SWIFT) test

replay: deps ## Replay EVENT=events/<file>.json through FUNCTION=<name> (default: chosen from the event's shape)
	$(SWIFT) build -c $(CONFIG) --product odin
	@$(SWIFT) build -c $(CONFIG) $(if $(FUNCTION),--product $(FUNCTION),) >/dev/null
	$(BIN)/odin replay $(EVENT) $(if $(FUNCTION),--function $(FUNCTION),) --bin-dir $(BIN)

demo: deps ## Generate sample media with FFmpeg and run the whole pipeline on this machine (no AWS account needed)
	$(SWIFT) build -c $(CONFIG) --product odin
	$(SWIFT) build -c $(CONFIG) --product munin-worker
	$(BIN)/odin demo --dir $(or $(DEMO_DIR),.odin/demo) $(DEMO_ARGS)

package: deps ## Build the Lambda zips functions/<name>/bootstrap.zip (FUNCTIONS="ingest sweeper" for some); prints sizes
	FUNCTIONS="$(FUNCTIONS)" scripts/package.sh

bench: deps ## Run the benchmarks side by side with their peers and write BENCHMARKS.md
	scripts/venv.sh bench
	scripts/bench.sh

clean: ## Remove build outputs
	rm -rf .build functions/*/bootstrap functions/*/bootstrap.zip

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
# Deploy: STAGE=<stage>, PARAMS="Key=Value …" (stack parameters), PROFILE=<file or name>, DEPLOY_FLAGS="--cf|--lambda
# --dry-run --yes --region R"; image: CONTAINER=docker|podman, IMAGE_URI=<registry>/<repo>:<tag>.
STAGE ?=
PARAMS ?=
PROFILE ?=
DEPLOY_FLAGS ?=
YES ?=

.PHONY: help deps build test bench replay demo package deploy destroy image clean venv

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## Install the Debian packages the build needs (does nothing when present)
	@scripts/deps.sh

venv: ## Create .venv with the Python test peers (moto, botocore, cfn-lint; checkov in .venv/checkov)
	@scripts/venv.sh

build: deps ## Build every binary (CONFIG=debug|release)
	$(SWIFT) build -c $(CONFIG)

# ODIN_REQUIRE_PEERS=1: a test whose peer (moto_server, the venv, FFmpeg, Chromium, …) is missing FAILS here instead
# of being skipped as it is under a plain `swift test` (Tests/TestSupport/Peer.swift); with-moto.sh fails first when
# moto_server or the contract checker cannot start.
test: deps venv ## Run the whole test suite against real peers (moto_server, FFmpeg, Runtime API emulator)
	ODIN_REQUIRE_PEERS=1 ODIN_CONTRACT_REQUIRED=1 scripts/with-moto.sh $(SWIFT) test

# replay: FUNCTION=echo runs without AWS. Otherwise the function runs against a local moto_server that
# scripts/with-moto.sh starts and `odin replay --seed-local` seeds with the stack's resources (and a run matching a
# Batch event) when AWS_ENDPOINT_URL is unset, or against that loopback endpoint when it is set; real AWS only with
# REAL_AWS=1, AWS_PROFILE=<profile>, AWS_ENDPOINT_URL unset and the stack's ODIN_* variables exported. Every AWS call
# the function makes is printed on stderr (ODIN_LOG_AWS_CALLS=1).
REPLAY = $(BIN)/odin replay $(EVENT) $(if $(FUNCTION),--function $(FUNCTION),) --bin-dir $(BIN)
replay: deps ## Replay EVENT=events/<file>.json through FUNCTION=<name> (default: from the event) on a seeded local moto (REAL_AWS=1 AWS_PROFILE=p for AWS)
	@[ -n "$(EVENT)" ] || { echo "usage: make replay EVENT=events/<file>.json [FUNCTION=name] [REAL_AWS=1 AWS_PROFILE=p]" >&2; exit 2; }
	$(SWIFT) build -c $(CONFIG) --product odin
	@$(SWIFT) build -c $(CONFIG) $(if $(FUNCTION),--product $(FUNCTION),) >/dev/null
	@if [ "$(FUNCTION)" = echo ]; then \
	  $(REPLAY); \
	elif [ "$(REAL_AWS)" = 1 ]; then \
	  [ -n "$$AWS_PROFILE" ] || { echo "REAL_AWS=1 needs AWS_PROFILE=<profile> and the stack's ODIN_* variables" >&2; exit 2; }; \
	  [ -z "$$AWS_ENDPOINT_URL" ] || { echo "REAL_AWS=1: AWS_ENDPOINT_URL must be unset (it is $$AWS_ENDPOINT_URL)" >&2; exit 2; }; \
	  ODIN_LOG_AWS_CALLS=1 $(REPLAY); \
	elif [ -n "$$AWS_ENDPOINT_URL" ]; then \
	  ODIN_LOG_AWS_CALLS=1 $(REPLAY) --seed-local; \
	else \
	  scripts/with-moto.sh env ODIN_LOG_AWS_CALLS=1 $(REPLAY) --seed-local; \
	fi

demo: deps venv ## Generate sample media with FFmpeg, run the whole pipeline on this machine (no AWS account needed) and validate the season's Stage 3
	$(SWIFT) build -c $(CONFIG) --product odin
	$(SWIFT) build -c $(CONFIG) --product munin-worker
	$(BIN)/odin demo --dir $(or $(DEMO_DIR),.odin/demo) $(DEMO_ARGS)
	@echo "Validating the season's Stage 3 (MegaDetector, frictionless + official Camtrap DP schemas, GeoJSON):"
	@.venv/bin/python scripts/validate-stage3.py $(or $(DEMO_DIR),.odin/demo)/season \
		--media-root $(or $(DEMO_DIR),.odin/demo)/store > $(or $(DEMO_DIR),.odin/demo)/season-validation.json \
		&& echo "  valid: $(or $(DEMO_DIR),.odin/demo)/season-validation.json" \
		|| { cat $(or $(DEMO_DIR),.odin/demo)/season-validation.json; exit 1; }

package: deps ## Build the Lambda zips functions/<name>/bootstrap.zip (FUNCTIONS="ingest sweeper" for some); prints sizes
	FUNCTIONS="$(FUNCTIONS)" scripts/package.sh

deploy: deps venv ## Deploy STAGE=<stage> via `odin deploy` (packages first unless DEPLOY_FLAGS has --cf; PARAMS="VpcId=… SubnetIds=…")
	@[ -n "$(STAGE)" ] || { echo "make deploy: set STAGE=<stage>, e.g. make deploy STAGE=dev PARAMS=\"VpcId=vpc-… …\"" >&2; exit 2; }
	@case " $(DEPLOY_FLAGS) " in *" --cf "*) ;; *) FUNCTIONS="$(FUNCTIONS)" scripts/package.sh ;; esac
	$(SWIFT) build -c $(CONFIG) --product odin
	$(BIN)/odin deploy --stage $(STAGE) $(if $(PROFILE),--profile $(PROFILE),) $(foreach p,$(PARAMS),--parameter $(p)) $(DEPLOY_FLAGS)

destroy: deps ## Empty the buckets of stage STAGE=<stage> and delete its stacks, after confirmation (YES=1 skips it)
	@[ -n "$(STAGE)" ] || { echo "make destroy: set STAGE=<stage>, e.g. make destroy STAGE=dev" >&2; exit 2; }
	$(SWIFT) build -c $(CONFIG) --product odin
	$(BIN)/odin destroy --stage $(STAGE) $(if $(PROFILE),--profile $(PROFILE),) $(if $(YES),--yes,)

image: deps ## Build and push the worker image when a container engine works (IMAGE_URI=<registry>/<repo>:<tag>)
	@CONTAINER="$(CONTAINER)" IMAGE_URI="$(IMAGE_URI)" scripts/image.sh

bench: deps ## Run the benchmarks side by side with their peers and write BENCHMARKS.md
	scripts/venv.sh bench
	scripts/bench.sh

clean: ## Remove build outputs
	rm -rf .build functions/*/bootstrap functions/*/bootstrap.zip

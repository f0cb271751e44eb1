# Two commands on a fresh machine: `make run` and `make test`. Each creates the environment
# first (Python from .python-version, packages pinned by uv.lock).
SHELL := bash
.DEFAULT_GOAL := help
PORT ?= 3019
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

# SAM CLI and checkov pin clashing packages: each is its own uv tool, never in .venv.
export UV_TOOL_DIR := $(CURDIR)/.tools/uv-tools
export UV_TOOL_BIN_DIR := $(CURDIR)/.tools/bin
export SAM_CLI_TELEMETRY := 0
SAM := .tools/bin/sam
CHECKOV := .tools/bin/checkov

.PHONY: help env run test lint typecheck unit check-template

help:
	@echo "make run    the service on http://127.0.0.1:$(PORT) with an embedded AWS endpoint (PORT overrides)"
	@echo "make test   lint, types, unit and integration tests"
	@echo "make check-template   sam validate (lint and transform), checkov, the transform under every switch, a sam build"
	@echo "make bench  cold starts, warm handlers, AWS calls, package size, the local stack beside Express (needs node, npm, wrk)"
	@echo "make sam-local / make test-sam-local   sam local start-api against the embedded AWS endpoint (needs Docker)"

# uv itself lives in the project so that nothing outside it has to be installed first.
$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

env: $(VENV)/.synced

# What `sam build` packs, pinned from uv.lock: boto3 is the runtime's own, and aws-xray-sdk is left
# out (its botocore would shadow the runtime's); tests/template/test_requirements.py holds them together.
REQUIREMENTS_EXPORT := export --frozen --no-dev --no-hashes --no-emit-project --no-annotate --prune boto3 --prune aws-xray-sdk
.PHONY: requirements
requirements: | $(UV)
	$(UV) $(REQUIREMENTS_EXPORT) --output-file functions/requirements.txt --quiet

run: env
	PORT=$(PORT) $(BIN)/python -m infra.local $(ARGS)

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --recursive functions infra
	@# GitHub's workflow schema ships inside check-jsonschema: no network.
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

typecheck: env
	$(BIN)/mypy

unit: env
	$(BIN)/pytest tests/unit

test: lint typecheck
	$(BIN)/pytest

$(SAM): | $(UV)
	$(UV) tool install --quiet aws-sam-cli

$(CHECKOV): | $(UV)
	$(UV) tool install --quiet checkov

check-template: env $(SAM) $(CHECKOV)
	$(SAM) validate --lint
	$(SAM) validate --region us-east-1
	$(CHECKOV) --config-file .checkov.yaml --file template.yaml --framework cloudformation --skip-download --compact --quiet
	@# sam validate transforms with the defaults only: every switch at each of its values, IAM included,
	@# and the browser layouts (custom domain, base path, shared cookie domain, CORS) set and unset.
	$(BIN)/pytest -q tests/template
	$(SAM) build --parameter-overrides Architecture=x86_64

# `sam local start-api` (Docker) with the embedded AWS endpoint; PORT overrides 3019.
# On machines with the shared sam-local tools (no registry, loopback-only Docker), SAM runs
# through their sam-hostnet wrapper; elsewhere plain SAM CLI does.
SAM_LOCAL_TOOLS := $(CURDIR)/../shared/tools/sam-local
ifneq ($(wildcard $(SAM_LOCAL_TOOLS)/sam-hostnet),)
export SAM_LOCAL_WRAPPER := $(SAM_LOCAL_TOOLS)/sam-hostnet
# The wrapper runs under SAM CLI's own Python: "$(uv tool dir)/aws-sam-cli/bin/python".
export SAM_PYTHON := $(UV_TOOL_DIR)/aws-sam-cli/bin/python
endif
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: sam-local test-sam-local

sam-local: env $(SAM)
	PORT=$(PORT) $(BIN)/python -m infra.local.sam_local --sam $(CURDIR)/$(SAM) $(ARGS)

test-sam-local: env $(SAM)
ifneq ($(wildcard $(SAM_LOCAL_TOOLS)/setup),)
	@# The shared tools' setup starts a loopback-only Docker engine, installing docker.io with apt if need be.
	command -v dockerd >/dev/null || $(AS_ROOT) apt-get update -qq
	$(AS_ROOT) $(SAM_LOCAL_TOOLS)/setup
else
	@command -v docker >/dev/null || { echo "make test-sam-local needs Docker: no docker on PATH" >&2; exit 1; }
endif
	SAM=$(CURDIR)/$(SAM) SAM_LOCAL=1 $(BIN)/pytest tests/sam_local

# What users pay for, as one table; node runs the reference Express app (bench/reference-express)
# beside the local stack. The tools it needs are looked for first, before the environment is built,
# so that a missing one stops it in seconds with one line: wrk is installed with apt-get where there
# is one (sudo unless root), its output kept in a log; anything else, the line says what to install.
# The bench itself then checks node's version and SAM CLI, and fetches the app's packages, first.
BENCH_APT_WRK = echo "make bench: installing wrk with apt-get" >&2; log=$$(mktemp); \
	{ $(AS_ROOT) apt-get update -qq && $(AS_ROOT) apt-get install -y -qq wrk; } >"$$log" 2>&1 || \
	{ echo "make bench needs wrk: apt-get install wrk failed (its output: $$log)" >&2; exit 1; }
.PHONY: bench
bench:
	@command -v wrk >/dev/null || ! command -v apt-get >/dev/null || { $(BENCH_APT_WRK); }
	@command -v wrk >/dev/null || { echo "make bench needs wrk (brew install wrk, or https://github.com/wg/wrk)" >&2; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "make bench needs Node.js with npm (https://nodejs.org, or the system's nodejs and npm packages)" >&2; exit 1; }
	@# Building the environment says what it does on stderr: stdout carries the figures only.
	@$(MAKE) --no-print-directory env $(SAM) >&2
	@$(BIN)/python -m bench

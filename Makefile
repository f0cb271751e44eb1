# Two commands on a fresh machine: `make run` and `make test`. Each creates the environment
# first (Python from .python-version, packages pinned by uv.lock).
SHELL := bash
.DEFAULT_GOAL := help
PORT ?= 3019
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help env run test lint typecheck unit

help:
	@echo "make run    the service on http://127.0.0.1:$(PORT) with an embedded AWS endpoint (PORT overrides)"
	@echo "make test   lint, types, unit and integration tests"

# uv itself lives in the project so that nothing outside it has to be installed first.
$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

env: $(VENV)/.synced

run: env
	PORT=$(PORT) $(BIN)/python -m infra.local

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: env
	$(BIN)/mypy

unit: env
	$(BIN)/pytest tests/unit

test: lint typecheck
	$(BIN)/pytest

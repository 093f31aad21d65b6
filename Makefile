# The two commands a newcomer runs: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
PYTHON ?= python3
# uv from PATH, else the one pip installs as a Python module (no download of a binary).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen --no-sync

.PHONY: help install demo test lint typecheck services unit bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || $(PYTHON) -m uv --version >/dev/null 2>&1 || { \
	  echo "installing uv $(UV_VERSION) from PyPI"; \
	  $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"; }
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

install: .venv/.synced  ## install everything into .venv from uv.lock

demo: install  ## sample data of every source format -> the whole flow on DuckDB, no server
	$(RUN) marketlake demo

lint: install  ## ruff lint + format check
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench

typecheck: install  ## mypy --strict on src
	$(RUN) mypy

services:  ## start what the tests need when missing: PostgreSQL, NATS JetStream, Chromium (S3: the tests start it)
	bash scripts/services.sh all

test: lint typecheck services  ## the whole suite: lint, types, unit, integration (real dbt, PostgreSQL, S3), e2e
	$(RUN) pytest -n auto --dist loadfile --durations=15  # one worker per core, a test file per worker

bench: install  ## benchmarks (not part of test); figures go to bench/RESULTS.md
	$(RUN) python bench/bench_ingest_csv.py

clean:  ## remove the demo's data and caches (not .venv)
	rm -rf marketlake-data .pytest_cache .mypy_cache .ruff_cache

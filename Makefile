# One entry point for every task. `make help` lists them.
# Most targets need only Python 3.11+ on the machine (`make install` builds .venv from the pinned
# files); `make test` also needs the PostgreSQL server it names, `make bootstrap` the Pulumi CLI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
STACK  ?= staging
BOOTSTRAP_STACK ?= shipyard
# Test processes: one per core (pytest-xdist). Every fixture that shares something (databases,
# ports, the emulator) is per process or uniquely named, so the suite runs in parallel as is.
TEST_WORKERS ?= auto
export HOST PORT

.PHONY: help install lock dev api worker migrate test test-fast lint typecheck format bench rehearse plan plan-diff plan-bootstrap bootstrap preflight screenshot clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

UV_VERSION := 0.13.9
UV         := $(BIN)/uv
# requirements/*.txt are compiled from pyproject.toml for the oldest Python the project supports,
# with hashes; the header names `make lock` as the command that wrote them.
LOCK_FLAGS := --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+ or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ is required, found " + sys.version.split()[0])'
	@test -x $(PY) || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): requirements/dev.txt requirements/runtime.txt pyproject.toml | $(UV)
	@echo "==> installing the pinned dependencies into $(VENV) (requirements/dev.txt, hashes checked)"
	@$(UV) pip install --python $(PY) --require-hashes --quiet -r requirements/dev.txt
	@echo "==> installing the project itself (editable, no dependencies, with the pinned hatchling)"
	@$(UV) pip install --python $(PY) --quiet --no-deps --no-build-isolation --editable .
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

install: $(STAMP) ## Create .venv with every pinned dependency and the project (fast when up to date)

lock: | $(UV) ## Recompile requirements/*.txt from pyproject.toml (pins kept unless pyproject asks otherwise)
	@echo "==> compiling requirements/runtime.txt from pyproject.toml [project] dependencies"
	@$(UV) pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/runtime.txt
	@echo "==> compiling requirements/dev.txt from pyproject.toml's dev group, at runtime.txt's versions"
	@$(UV) pip compile pyproject.toml --group dev -c requirements/runtime.txt $(LOCK_FLAGS) -o requirements/dev.txt
	@echo "==> done: 'git diff requirements/' shows what changed; 'make install' installs it"

dev: $(STAMP) ## Run the whole system locally (emulator, API + relay + web UI on http://127.0.0.1:8000, worker)
	@$(PY) -m tools.local dev

api: $(STAMP) ## Run only the production API server (python -m service api)
	@$(PY) -m service api

worker: $(STAMP) ## Run only the order worker (python -m service worker)
	@$(PY) -m service worker

migrate: $(STAMP) ## Apply database migrations (python -m service migrate)
	@$(PY) -m service migrate

test: $(STAMP) ## Run every test (SQLite and PostgreSQL, emulator, mocks, browser)
	@$(PY) -m pytest -n $(TEST_WORKERS)

test-fast: $(STAMP) ## The edit-test loop: unit and in-process tests on SQLite (no browser, emulator, server processes)
	@$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow and not emulator and not browser and not postgres"

lint: $(STAMP) typecheck ## ruff (lint + format check) and mypy (make typecheck)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy over every Python folder (strict; tests checked without needing annotations)
	@$(BIN)/mypy
	@# Two entry points are modules named __main__, which one mypy run cannot hold twice.
	@for entry in platform/__main__.py policy/__main__.py; do $(BIN)/mypy "$$entry" || exit 1; done

format: $(STAMP) ## Apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

# e.g. BENCH_ARGS="--only-api --template-path ../full-stack-fastapi-template" (python -m tools.bench --help)
BENCH_ARGS ?=
bench: $(STAMP) ## Benchmarks: API and order throughput as ratios against baselines (writes tools/bench/RESULTS.md)
	@$(PY) -m tools.bench $(BENCH_ARGS)

rehearse: $(STAMP) ## Rehearse a zero-downtime rolling deployment behind a real proxy
	@$(PY) -m tools.rehearsal

plan: $(STAMP) ## Evaluate the Pulumi program offline under mocks and print the plan (STACK=staging|prod)
	@$(PY) -m tools.plan $(STACK)

plan-diff: $(STAMP) ## Print what differs between the staging and prod plans
	@$(PY) -m tools.plan --diff staging prod

plan-bootstrap: $(STAMP) ## Evaluate the account bootstrap offline under mocks (BOOTSTRAP_STACK=shipyard)
	@$(PY) -m tools.plan --bootstrap $(BOOTSTRAP_STACK)

# The bootstrap's own Pulumi state: a local folder the first time (the state bucket does not exist
# yet). Once it is moved into the bucket (docs/getting-started-on-aws.md, step 2), pass that URL:
# `make bootstrap BOOTSTRAP_BACKEND_URL=s3://...`. The move leaves a note in the local folder, so a
# run that forgot the URL stops instead of planning the whole account anew from an empty state.
BOOTSTRAP_LOCAL_STATE := .bootstrap-state
BOOTSTRAP_BACKEND_URL ?= file://$(CURDIR)/$(BOOTSTRAP_LOCAL_STATE)
BOOTSTRAP_MOVED_NOTE  := $(BOOTSTRAP_LOCAL_STATE)/moved-to

bootstrap: $(STAMP) ## Once per AWS account, as an administrator: state bucket, secrets key, image repository, CI roles
	@command -v pulumi >/dev/null || { echo "error: the Pulumi CLI is needed (https://www.pulumi.com/docs/install/)"; exit 1; }
	@if [ "$(BOOTSTRAP_BACKEND_URL)" = "file://$(CURDIR)/$(BOOTSTRAP_LOCAL_STATE)" ] && [ -f $(BOOTSTRAP_MOVED_NOTE) ]; then \
		echo "error: the bootstrap's state was moved to $$(cat $(BOOTSTRAP_MOVED_NOTE)); run: make bootstrap BOOTSTRAP_BACKEND_URL=$$(cat $(BOOTSTRAP_MOVED_NOTE))"; exit 1; fi
	@echo "==> pulumi up of platform/bootstrap, stack $(BOOTSTRAP_STACK), state in $(BOOTSTRAP_BACKEND_URL)"
	@case "$(BOOTSTRAP_BACKEND_URL)" in file://*) mkdir -p "$(patsubst file://%,%,$(BOOTSTRAP_BACKEND_URL))";; esac
	@cd platform/bootstrap && export PULUMI_BACKEND_URL="$(BOOTSTRAP_BACKEND_URL)" \
		PULUMI_CONFIG_PASSPHRASE="$${PULUMI_CONFIG_PASSPHRASE-}" && \
		pulumi stack select --create $(BOOTSTRAP_STACK) && \
		pulumi up --stack $(BOOTSTRAP_STACK) && \
		pulumi stack output --stack $(BOOTSTRAP_STACK) --json > "$(CURDIR)/bootstrap-$(BOOTSTRAP_STACK).json"
	@echo "==> outputs in bootstrap-$(BOOTSTRAP_STACK).json; next: docs/getting-started-on-aws.md, step 3"

# ONLY=aws|github runs one live half (the deploy job runs --only aws before Pulumi); the bootstrap
# stack is the one that deploys STACK unless BOOTSTRAP_STACK is given.
preflight: $(STAMP) ## Check, read-only, the live AWS account and GitHub repository before a deploy (STACK=staging|prod)
	@$(PY) -m scripts.preflight --stack $(STACK) $(if $(ONLY),--only $(ONLY)) \
		$(if $(filter command line environment,$(origin BOOTSTRAP_STACK)),--bootstrap-stack $(BOOTSTRAP_STACK))

screenshot: $(STAMP) ## Regenerate docs/screenshot.png (desktop and phone) in headless Chromium
	@$(PY) -m tools.screenshot

clean: ## Remove the virtualenv and local state
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .local

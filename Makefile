# bizbot: `make demo` to try it, `make test` to check it. `make help` lists the rest.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
RASA_VENV := .venv-rasa
BIN := $(VENV)/bin
RASA := ../$(RASA_VENV)/bin/rasa
MODEL := rasa_project/models/bizbot.tar.gz
RASA_INPUTS := rasa_project/config.yml rasa_project/domain.yml $(shell find rasa_project/data -name '*.yml' 2>/dev/null) bot/facts/data/jieba/domain.txt
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup demo demo-redis test test-suite test-fuzz test-fast faults audit lint typecheck validate facts lookups train bench lock lock-rasa clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(RASA_VENV)/.installed ## Create both environments (idempotent)

# The stamp depends on the lock file, so an unchanged lock means a second run does nothing.
$(VENV)/.installed: requirements/app.lock pyproject.toml
	@echo "==> .venv (Python 3.11): application, action server, tests"
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/app.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock
	@echo "==> .venv-rasa (Python 3.10): rasa[jieba]==3.6.21 only"
	@py=$$(scripts/find-python310.sh) && "$$py" -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements/rasa.lock
	@touch $@

facts: $(VENV)/.installed ## Build the fact store (only when seeds or code changed)
	$(BIN)/bizbot facts build

lookups: $(VENV)/.installed ## Regenerate Rasa's lookup tables from the entity list
	$(BIN)/bizbot rasa lookups

# Make skips this when nothing is newer than the model; Rasa's fingerprint (--dry-run) then
# decides, so a touched-but-unchanged file does not retrain either.
$(MODEL): $(RASA_INPUTS) | $(RASA_VENV)/.installed
	$(MAKE) --no-print-directory lookups
	cd rasa_project && { $(RASA) train --dry-run --fixed-model-name bizbot >/dev/null 2>&1 \
	  && echo "Rasa: nothing changed since the last model" && touch models/bizbot.tar.gz; } \
	  || $(RASA) train --fixed-model-name bizbot --out models

train: $(MODEL) ## Train the Rasa model if data or config changed

demo: setup facts train ## Start the stack (embedded state) and print the web-chat address
	@echo "==> Starting Rasa, the action server and the bot; Ctrl-C stops them all."
	@echo "    Rasa takes about a minute to load; the web chat is at http://$${BOT_HOST:-127.0.0.1}:$${BOT_PORT:-8080}/"
	$(BIN)/honcho start rasa actions bot

demo-redis: setup facts train ## Same, plus a local redis-server with AOF (REDIS_URL preset)
	@mkdir -p var/redis
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(BIN)/honcho start

lint: $(VENV)/.installed ## ruff
	$(BIN)/ruff check bot rasa_project/actions tests bench scripts
	$(BIN)/ruff format --check bot rasa_project/actions tests bench scripts

audit: $(VENV)/.installed ## Both lock files against the PyPA advisory snapshot (offline; docs/security.md)
	$(BIN)/python scripts/audit_locks.py --lock requirements/app.lock --lock requirements/rasa.lock \
	  --advisories security/advisories.json --accepted security/accepted.yml --markdown security/report.md

typecheck: $(VENV)/.installed ## mypy --strict
	$(BIN)/mypy

validate: $(RASA_VENV)/.installed lookups ## rasa data validate
	cd rasa_project && $(RASA) data validate --fail-on-warnings

test: setup facts train lint typecheck audit ## The whole suite: lint, types, audit, pytest (live stack, fuzzing), then faults
	@echo "==> pytest and the fuzzers side by side (each one's output appears when it ends)"
	$(MAKE) --no-print-directory -j2 --output-sync=target test-suite test-fuzz
	$(MAKE) --no-print-directory faults

# The fuzzers are CPU-bound in-process while the live-stack tests mostly wait for Rasa: on
# two cores they run side by side in about the time of the longer one.
test-suite: $(VENV)/.installed
	$(BIN)/pytest -m "not fuzz and not faults and not scale"

test-fuzz: $(VENV)/.installed ## The hypothesis fuzzers alone (10,000 inputs per entry point)
	$(BIN)/pytest -m fuzz

# Its own step: it starts its own stack (Redis, Rasa, actions, two bots) and kills parts of it.
FAULTS_REPORT_DIR ?= var/faults
faults: setup facts train ## Faults under load and two bot replicas (about 10 min); report in var/faults/
	FAULTS_REPORT_DIR=$(FAULTS_REPORT_DIR) $(BIN)/pytest -m "faults or scale" tests/faults

test-fast: $(VENV)/.installed ## pytest without the live-stack, browser and fuzz tests
	$(BIN)/pytest -m "not stack and not browser and not fuzz"

bench: setup facts train ## Benchmarks; results go to bench/results/
	$(BIN)/python -m bench

lock: ## Re-resolve requirements/app.lock from pyproject.toml
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --custom-compile-command "make lock" -o requirements/app.lock

lock-rasa: ## Re-resolve requirements/rasa.lock (rasa[jieba]==3.6.21)
	@py=$$(scripts/find-python310.sh) && tmp=$$(mktemp -d) && "$$py" -m venv $$tmp && \
	  $$tmp/bin/pip install --quiet 'rasa[jieba]==3.6.21' && \
	  { echo "# Rasa's environment (.venv-rasa, Python 3.10). Regenerate: make lock-rasa"; $$tmp/bin/pip freeze; } > requirements/rasa.lock

clean: ## Remove built artefacts (keeps the environments)
	rm -rf var rasa_project/models rasa_project/results .rasa

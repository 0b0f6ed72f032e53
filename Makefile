# Tide: `make run` serves the app with demo data; `make test` runs every test.
# Both set everything up on a fresh machine that has Python 3.11+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml requirements-bootstrap.lock | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install run test test-dates chromium pgbouncer lint typecheck format migrate seed verify bench lock clean

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install the locked dependencies

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Tide needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-bootstrap.lock
	@$(BIN)/uv pip sync -q --python $(BIN)/python --require-hashes requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "Installed into $(VENV)."

run: install ## Migrate the database, load the demo data and serve on http://127.0.0.1:8000
	$(BIN)/wallet db upgrade
	$(BIN)/wallet seed-demo
	$(BIN)/wallet serve

test: install lint typecheck chromium pgbouncer ## Every test (PostgreSQL tests need the server, the pgbouncer-marked ones run through PgBouncer too; required when CI=true)
	$(BIN)/pytest
	$(BIN)/python -m tests.dates

test-dates: install chromium ## The date-sensitive tests again at awkward moments (month ends, 1 April, clock changes, 29 Feb)
	$(BIN)/python -m tests.dates

chromium: ## Install Debian's chromium for the browser tests, when /usr/bin/chromium is missing
	@test -x /usr/bin/chromium || { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

pgbouncer: ## Install Debian's pgbouncer for the tests through a transaction pooler, when it is missing
	@test -x /usr/sbin/pgbouncer || { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; }

lint: install ## ruff and the import-direction contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install ## mypy --strict
	$(BIN)/mypy

format: install ## Reformat the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install ## Migrate DATABASE_URL to the latest schema
	$(BIN)/wallet db upgrade

seed: install ## Load the demo data into DATABASE_URL
	$(BIN)/wallet seed-demo

verify: install ## Check every ledger invariant in DATABASE_URL
	$(BIN)/wallet ledger verify

bench: install pgbouncer ## Benchmarks on PostgreSQL (TIDE_BENCH_POSTGRES): ledger, reports, the annual evidence report, page weight, approvals, cards, the till under sign-ins, the till through PgBouncer
	$(BIN)/python -m benchmarks.ledger_bench
	$(BIN)/python -m benchmarks.reports_bench
	$(BIN)/python -m benchmarks.annual_bench
	$(BIN)/python -m benchmarks.page_weight
	$(BIN)/python -m benchmarks.approval_latency
	$(BIN)/python -m benchmarks.card_auth_bench
	$(BIN)/python -m benchmarks.till_under_sign_ins
	$(BIN)/python -m benchmarks.pooled_till --duration 5

lock: ## Re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --no-header --quiet -o requirements.lock

clean: ## Remove the virtualenv, caches and the demo database
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis tide.db tide.db-wal tide.db-shm

# One command per task. `make run` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres fuzz snapshots lint fmt bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

## Start the registry at http://127.0.0.1:$(PORT) (SQLite + blobs under ./var/).
## `make run PORT=9000` chooses the port; links follow it unless FPMREG_BASE_URL is set.
PORT ?= 8000
run: $(STAMP)
	mkdir -p var
	$(BIN)/fpmreg-server run --host 127.0.0.1 --port $(PORT)

## Run the whole test suite (PostgreSQL too when FPMREG_TEST_DATABASE_URL is set).
## `make test TESTS="tests/server"` runs a part of it; tests run in one process per core
## (pytest-xdist), `make test TEST_WORKERS=1` in one.
TESTS ?=
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python scripts/system_deps.py --check
	$(BIN)/pytest -n $(TEST_WORKERS) --durations=20 $(TESTS)

## Fuzz the whole API (schemathesis, every check) against a live server; part of `make test`.
## FUZZ_EXAMPLES=200 FUZZ_SEED=1 make fuzz explores further.
fuzz: $(STAMP)
	$(BIN)/pytest tests/e2e/test_fuzz.py -rA

## Rewrite tests/server/snapshots/openapi.json from the live app; review and commit the diff.
snapshots: $(STAMP)
	UPDATE_SNAPSHOTS=1 $(BIN)/pytest tests/server/test_openapi.py -q

lint: $(STAMP)
	$(BIN)/ruff check fpmreg tests bench scripts
	$(BIN)/ruff format --check fpmreg tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	FPMREG_DATABASE_URL=sqlite:///$(CURDIR)/var/lint-check.db $(BIN)/fpmreg-server db upgrade >/dev/null
	FPMREG_DATABASE_URL=sqlite:///$(CURDIR)/var/lint-check.db $(BIN)/fpmreg-server db check
	rm -f var/lint-check.db*

fmt: $(STAMP)
	$(BIN)/ruff format fpmreg tests bench scripts
	$(BIN)/ruff check --fix fpmreg tests bench scripts

## Measure throughput and memory; numbers go to bench/results/.
bench: $(STAMP)
	$(BIN)/python scripts/system_deps.py --install-missing
	$(BIN)/python -m bench

## Install what the end-to-end tests need from Debian (gfortran, chromium, wrk, nginx).
system-deps:
	$(PYTHON) scripts/system_deps.py --install-missing

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

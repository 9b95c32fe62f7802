# aidflow developer and CI entry points. `make test` is the test command (README, .ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: venv demo test lint postgres

# (Re)install when pyproject.toml changes; the stamp makes a second `make venv` instant.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres]' --group dev
	touch $@

demo: venv
	$(BIN)/aidflow demo

# PostgreSQL tests need AIDFLOW_TEST_POSTGRES: eval "$$(scripts/start-postgres.sh)".
# Without it they skip locally (and fail when CI is set).
test: venv
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

postgres:
	@bash scripts/start-postgres.sh

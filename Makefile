# Each target creates its own virtual environment, so one command works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo net-example test lint bench install install-dev browser messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

## The main job on the embedded default: a three-month pilot on a fresh SQLite file.
demo: install
	$(BIN)/clearing demo

## Pure netting of the shipped month of CN<->RU obligations, no database.
net-example: install
	$(BIN)/clearing net examples/obligations-2026-10.csv --rates examples/rates-2026-10.json --output out/result-2026-10.json

## The tests drive Debian's chromium, and the README's tour uses curl and jq: install what is
## missing (root or sudo).
browser:
	@missing=""; \
	for tool in chromium curl jq; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## Run the whole test suite (PostgreSQL on 127.0.0.1:5432 for the integration tests).
test: install-dev browser
	$(BIN)/pytest -n 2

lint: install-dev
	$(BIN)/ruff check clearing service migrations tests benchmarks docs
	$(BIN)/ruff format --check clearing service migrations tests benchmarks docs
	$(BIN)/mypy --strict clearing service

bench: install-dev
	$(BIN)/python benchmarks/run.py

## Extract the pages' messages and merge them into the zh and ru catalogues (then translate).
messages: install-dev
	$(BIN)/pybabel -q extract -F service/ui/babel.cfg -k N_ --no-location --sort-output -o out/messages.pot service
	$(BIN)/pybabel -q update -i out/messages.pot -d service/ui/locales --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis

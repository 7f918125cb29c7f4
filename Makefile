# Two commands do all set-up on a fresh machine with only Python 3.11:
#   make demo   creates .venv, installs, loads the demo fleet, opens the console
#   make test   creates .venv, installs with test extras, runs the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DB ?= demo.db

.PHONY: demo test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/fleetctl load fixtures/demo.json --db $(DEMO_DB) --replace
	$(BIN)/fleetctl limits save demo fixtures/demo-limits.json --db $(DEMO_DB)
	$(BIN)/fleetctl console --db $(DEMO_DB) --limit-set demo

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/bench_load.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache $(DEMO_DB)

# Two commands do all set-up on a fresh machine with only Python 3.11:
#   make demo   creates .venv, installs from the lock, loads the demo fleet, opens the console
#   make test   creates .venv, installs from the lock with test extras, runs the whole suite
# Dependencies change only through pyproject.toml + `make lock` (uv pip compile --generate-hashes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DB ?= demo.db
UV_VERSION := 0.13.9
LOCKS  := requirements
COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes \
          --python-version 3.11 --python-platform x86_64-unknown-linux-gnu

# numba compiles the exact placement pricing once here, not during a user's first solve.
WARM_UP = $(BIN)/python -c "from engine.placement.colgen_exact import warm_up; warm_up()"

.PHONY: demo test install install-test install-bench bench lock deps-latest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=24'

# Exact versions and hashes from the lock, then the project itself without resolving anything.
$(VENV)/.installed: $(LOCKS)/runtime.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCKS)/runtime.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(WARM_UP)
	touch $@

$(VENV)/.installed-test: $(LOCKS)/test.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCKS)/test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(WARM_UP)
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: $(LOCKS)/bench.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCKS)/bench.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(WARM_UP)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: $(VENV)/.installed-bench

demo: install
	$(BIN)/fleetctl load fixtures/demo.json --db $(DEMO_DB) --replace
	$(BIN)/fleetctl limits save demo fixtures/demo-limits.json --db $(DEMO_DB)
	$(BIN)/fleetctl console --db $(DEMO_DB) --limit-set demo

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-bench
	$(BIN)/python benchmarks/bench_load.py

# Regenerate the three locks from pyproject.toml (runtime; runtime+bench; runtime+test+dask+bench).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(COMPILE) -o $(LOCKS)/runtime.lock
	$(COMPILE) --extra bench -o $(LOCKS)/bench.lock
	$(COMPILE) --extra test -o $(LOCKS)/test.lock

# Drift on purpose: the newest versions pyproject.toml allows, in a throwaway venv, whole suite.
deps-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade 'pip>=24'
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	.venv-latest/bin/python -m pip list --format=freeze > .venv-latest/versions.txt
	.venv-latest/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-latest *.egg-info .pytest_cache $(DEMO_DB)

# jwtlab: `make lab` to learn, `make test` for everything CI checks.
# Both create .venv (python3 -m venv) when it is missing or stale, then install the
# project into it from pyproject.toml. Nothing is installed outside .venv.

PYTHON     ?= python3
VENV       ?= .venv
LAB_PORT   ?= 8888
NO_BROWSER ?=
PYTEST_ARGS ?=

BIN   := $(VENV)/bin
STAMP := $(VENV)/.jwtlab-installed

.PHONY: lab test lint typecheck docs unit servers notebooks floors bench venv clean help
.DEFAULT_GOAL := help

help:
	@echo "make lab     JupyterLab on notebooks/ (LAB_PORT=$(LAB_PORT), NO_BROWSER=1 for a server only)"
	@echo "make test    the linter, the unit and server tests, and every notebook under nbval"
	@echo "make unit    the tests that need no server (seconds); make servers, make notebooks: the rest"
	@echo "make floors  the unit and server tests on the lowest versions pyproject.toml allows"
	@echo "make typecheck  mypy, strict, on the package (not yet part of make lint)"
	@echo "make docs    the static site: guides, reference, rendered notebooks (docs/_build/html)"
	@echo "make bench   the benchmarks (ratios against PyJWT and a bare Redis round trip)"
	@echo "make clean   remove .venv and caches"

# The stamp is older than pyproject.toml, or the venv's python no longer runs
# (Python upgraded or moved): rebuild.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "jwtlab needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1). Try: make PYTHON=python3.12 ..."; exit 1; }
	@$(BIN)/python -c '' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[lab,test,docs]'
	@touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)
	$(BIN)/jwtlab doctor
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(LAB_PORT) $(if $(NO_BROWSER),--no-browser) \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check jwtlab tests benchmarks
	$(BIN)/ruff format --check jwtlab tests benchmarks

# mypy, strict, on the package (configured in pyproject.toml); not yet part of `lint`.
typecheck: $(STAMP)
	$(BIN)/mypy

# Warning-free or it fails, so the site cannot rot; notebooks are rendered, not run.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "The site is in docs/_build/html/index.html"

# One pytest run: unit, property, server and integration tests, then every notebook
# compared cell by cell with its committed outputs (strict nbval, sanitized).
test: lint docs
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg $(PYTEST_ARGS)

# The quick loop: every test that needs no server (conftest.py marks the others `server`
# and makes an unmarked test that starts one fail, saying how to mark it).
unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not server" $(PYTEST_ARGS)

# The tests that start real servers, on every engine found (JWTLAB_REDIS_SERVER=bundled: Valkey).
servers: $(STAMP)
	$(BIN)/python -m pytest tests -m server $(PYTEST_ARGS)

# Every lower bound in pyproject.toml, proven: a second venv holding the LOWEST version of
# each direct dependency it allows (uv's lowest-direct resolution; uv comes from the test
# extra), then the unit and server tests on it. Rebuilt each run, from uv's cache.
FLOORS_VENV ?= .venv-floors
floors: $(STAMP)
	rm -rf $(FLOORS_VENV)
	$(BIN)/uv venv --quiet --python $(PYTHON) $(FLOORS_VENV)
	$(BIN)/uv pip install --quiet --python $(FLOORS_VENV)/bin/python --resolution lowest-direct -e '.[test]'
	@$(FLOORS_VENV)/bin/python -c 'import importlib.metadata as m, re; \
	  wanted = [r for r in m.requires("jwtlab") if "extra" not in r or "test" in r.split("extra")[1]]; \
	  names = sorted({re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0] for r in wanted}); \
	  print("floors:", ", ".join(f"{n} {m.version(n)}" for n in names))'
	$(FLOORS_VENV)/bin/python -m pytest tests -p no:cacheprovider $(PYTEST_ARGS)

notebooks: $(STAMP)
	$(BIN)/python -m pytest notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg $(PYTEST_ARGS)

bench: $(STAMP)
	@for bench in benchmarks/bench_*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) $(FLOORS_VENV) .pytest_cache .ruff_cache .hypothesis docs/_build docs/notebooks

# jwtlab: `make lab` to learn, `make test` for everything CI checks.
# Both create .venv (python3 -m venv) when it is missing or stale, then install the
# project into it from pyproject.toml. Nothing is installed outside .venv: the installer,
# uv, comes from PyPI into .venv too (pip does the job, slower, where uv cannot install).

PYTHON     ?= python3
VENV       ?= .venv
LAB_PORT   ?= 8888
NO_BROWSER ?=
PYTEST_ARGS ?=
# Parallel pytest workers (pytest-xdist) for make test, servers, notebooks, student-check and
# floors: the tests mostly wait on servers, so even 2 cores keep 4 workers busy. JOBS=0: one process.
JOBS       ?= 4
# make lab EDITION=instructor opens notebooks/ (solutions in place) instead of student/
EDITION    ?= student
# make outputs NOTEBOOKS=notebooks/02-ttl-and-expiry.ipynb re-executes just that one
NOTEBOOKS  ?=
LINT_PATHS ?= jwtlab tests benchmarks notebooks tools conftest.py

BIN := $(VENV)/bin
# A notebook's cells share one kernel: a notebook (a file) goes to one worker.
XDIST      := $(if $(filter-out 0,$(JOBS)),-n $(JOBS) --dist loadfile)
# Two sets of packages, one stamp each: a student's `make lab` installs only the lab
# (the kit, JupyterLab, a kernel); the test, docs and lint tools come with the first
# `make test`, `make docs` or `make venv`.
LAB_STAMP := $(VENV)/.jwtlab-lab
DEV_STAMP := $(VENV)/.jwtlab-dev
LAB_DIR   := $(if $(filter instructor,$(EDITION)),notebooks,$(if $(filter student,$(EDITION)),student,))

.PHONY: lab student outputs student-check test lint typecheck docs unit servers notebooks floors bench venv clean help
.DEFAULT_GOAL := help

help:
	@echo "make lab       JupyterLab on your student edition, student/ (EDITION=instructor: notebooks/;"
	@echo "               LAB_PORT=$(LAB_PORT); NO_BROWSER=1 for a server only)"
	@echo "make student   write the student edition into student/ (never overwrites your files)"
	@echo "make test      the linters, the docs, the unit and server tests, every notebook under nbval"
	@echo "make unit      the tests that need no server (seconds); make servers, make notebooks: the rest"
	@echo "make student-check  run every student notebook: it fails exactly at its exercises"
	@echo "make floors    the unit and server tests on the lowest versions pyproject.toml allows"
	@echo "make lint      ruff (code and notebooks) and mypy, strict, on the package"
	@echo "make typecheck mypy alone (the type check make lint runs)"
	@echo "make outputs   re-execute the instructor notebooks in place (NOTEBOOKS=... for some)"
	@echo "make docs      the static site: guides, reference, rendered notebooks (docs/_build/html)"
	@echo "make bench     the benchmarks (ratios against PyJWT and a bare Redis round trip)"
	@echo "make clean     remove .venv and caches (student/ is yours: it stays)"

# install EXTRAS: the project, editable, with those extras, by uv. A venv whose python no
# longer runs (Python upgraded or moved) is rebuilt. The venv is made without pip, whose own
# installation costs more than everything else `make lab` installs; uv comes from PyPI
# through this Python's pip (`pip --python`), or, where there is none, through a pip
# bootstrapped into .venv. Without uv (no wheel for this platform) pip installs the kit.
define install
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "jwtlab needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1). Try: make PYTHON=python3.12 ..."; exit 1; }
	@$(BIN)/python -c '' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv --without-pip $(VENV); }
	@[ -x $(BIN)/uv ] || $(PYTHON) -m pip --python $(BIN)/python install $(PIP_QUIET) uv 2>/dev/null || \
	  { $(call ensure_pip) && $(BIN)/python -m pip install $(PIP_QUIET) uv; } || \
	  echo "(uv could not be installed from PyPI; pip installs the kit instead, more slowly)"
	@echo "Installing jwtlab[$(1)] into $(VENV) ..."
	@if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[$(1)]'; \
	  else $(call ensure_pip) && $(BIN)/python -m pip install $(PIP_QUIET) -e '.[$(1)]'; fi
	@touch $@
endef
PIP_QUIET := --quiet --disable-pip-version-check
ensure_pip = { $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null; }

DEV_EXTRAS := lab,test,docs

# A stamp older than pyproject.toml: install again.
$(LAB_STAMP): pyproject.toml
	$(call install,lab)

# Developers get pip in .venv as well (from uv's cache: a second), for the tools that call it.
$(DEV_STAMP): pyproject.toml
	$(call install,$(DEV_EXTRAS))
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || \
	  { [ -x $(BIN)/uv ] && $(BIN)/uv pip install --quiet --python $(BIN)/python pip; } || $(call ensure_pip)
	@touch $(LAB_STAMP)

venv: $(DEV_STAMP)

# The student edition: solutions replaced by stubs that raise NotImplementedError with a
# hint, outputs cleared. A file already in student/ is never overwritten.
student: $(LAB_STAMP)
	$(BIN)/python -m jwtlab.editions student --source notebooks --target student

lab: $(LAB_STAMP) $(if $(filter student,$(EDITION)),student)
	@test -n "$(LAB_DIR)" || { echo "EDITION=$(EDITION)? Use EDITION=student (the default) or EDITION=instructor."; exit 1; }
	$(BIN)/jwtlab doctor
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) --port=$(LAB_PORT) $(if $(NO_BROWSER),--no-browser) \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

# Re-execute the instructor notebooks in place (the committed outputs), with no per-cell
# timestamps; then `make notebooks` compares them. CONTRIBUTING.md: "Regenerating outputs".
outputs: $(DEV_STAMP)
	$(BIN)/python -m jwtlab.editions outputs $(NOTEBOOKS)

# Every student notebook, run in a kernel with errors allowed, must fail exactly at its
# exercise and check cells (about as long as `make notebooks`; its own CI step).
student-check: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/test_editions.py -m student_edition $(if $(filter-out 0,$(JOBS)),-n $(JOBS)) $(PYTEST_ARGS)

# ruff on code and notebooks, then mypy, strict, on the package (configured in pyproject.toml).
lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# The type check alone: what the last step of `lint` runs.
typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# Warning-free or it fails, so the site cannot rot; notebooks are rendered, not run.
docs: $(DEV_STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "The site is in docs/_build/html/index.html"

# One pytest run: unit, property, server and integration tests, then every notebook
# compared cell by cell with its committed outputs (strict nbval, sanitized).
test: lint docs
	JWTLAB_DOCS_HTML=docs/_build/html $(BIN)/python -m pytest tests notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg \
	  -m "not student_edition" $(XDIST) $(PYTEST_ARGS)

# The quick loop: every test that needs no server (conftest.py marks the others `server`
# and makes an unmarked test that starts one fail, saying how to mark it).
unit: $(DEV_STAMP)
	$(BIN)/python -m pytest tests -m "not server and not slow and not student_edition" $(PYTEST_ARGS)

# The tests that start real servers, on every engine found (JWTLAB_REDIS_SERVER=bundled: Valkey).
servers: $(DEV_STAMP)
	$(BIN)/python -m pytest tests -m "server and not student_edition" $(XDIST) $(PYTEST_ARGS)

# Every lower bound in pyproject.toml, proven: a second venv holding the LOWEST version of
# each direct dependency it allows (uv's lowest-direct resolution; uv comes from the test
# extra), then the unit and server tests on it. Rebuilt each run, from uv's cache.
FLOORS_VENV ?= .venv-floors
floors: $(DEV_STAMP)
	rm -rf $(FLOORS_VENV)
	$(BIN)/uv venv --quiet --python $(PYTHON) $(FLOORS_VENV)
	$(BIN)/uv pip install --quiet --python $(FLOORS_VENV)/bin/python --resolution lowest-direct -e '.[test]'
	@$(FLOORS_VENV)/bin/python -c 'import importlib.metadata as m, re; \
	  wanted = [r for r in m.requires("jwtlab") if "extra" not in r or "test" in r.split("extra")[1]]; \
	  names = sorted({re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0] for r in wanted}); \
	  print("floors:", ", ".join(f"{n} {m.version(n)}" for n in names))'
	# The docs site is built by `make docs` with the docs extra, not part of the floors venv.
	$(FLOORS_VENV)/bin/python -m pytest tests -p no:cacheprovider -m "not student_edition" \
	  --ignore=tests/test_docs_offline.py $(XDIST) $(PYTEST_ARGS)

notebooks: $(DEV_STAMP)
	$(BIN)/python -m pytest notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg $(XDIST) $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	@for bench in benchmarks/bench_*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) $(FLOORS_VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis docs/_build \
	  docs/notebooks

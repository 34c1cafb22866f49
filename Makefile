# Worker Classroom — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app classroom
PYTEST_ARGS ?=
# `make run HOST=0.0.0.0 PORT=5050`: where the development server listens.
HOST ?= 127.0.0.1
PORT ?= 5000
# The address printed in links (PDFs, QR codes, emails); yours when set, else the one served on.
LINK_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)))
CLASSROOM_PUBLIC_BASE_URL ?= http://$(LINK_HOST):$(PORT)
RUN_ENV := CLASSROOM_PUBLIC_BASE_URL='$(CLASSROOM_PUBLIC_BASE_URL)'

.PHONY: run test python-check port-check install install-dev translations babel lint api-check bench bench-seed drill clean

# ---- set-up --------------------------------------------------------------------------
# Python 3.11 or newer, checked before anything is installed (an older one fails late and obscurely).
python-check:
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case "$$version" in 3.1[1-9]|3.[2-9][0-9]) exit 0;; '') found="not a working Python";; \
	*) found="Python $${version#Python }";; esac; \
	echo "Worker Classroom needs Python 3.11 or newer; '$(PYTHON)' is $$found." \
	     "Install Python 3.11+ and name it: make $(or $(MAKECMDGOALS),run) PYTHON=python3.11"; exit 1

$(BIN)/python: | python-check
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

# Compile the message catalogues (the .mo files are build output, not committed).
translations: $(VENV)/.installed
	@$(BIN)/pybabel -q compile -d translations

# ---- the two commands ----------------------------------------------------------------
run: python-check port-check install
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) seed-demo --if-empty
	@echo "Serving on http://$(LINK_HOST):$(PORT)  (links: $(CLASSROOM_PUBLIC_BASE_URL); Ctrl-C to stop)"
	$(RUN_ENV) CLASSROOM_SCHEDULER=on $(FLASK) run --host $(HOST) --port $(PORT) --no-reload

# A busy port stops `make run` here with a hint, before anything is installed or started.
port-check: python-check
	@$(PYTHON) scripts/check_port.py $(HOST) $(PORT)

test: python-check install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ---- maintenance ---------------------------------------------------------------------
# Extract strings, update both catalogues; the en catalogue mirrors the English source.
babel: $(VENV)/.installed-dev
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs ".* __pycache__ node_modules" -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/fill_en_catalogue.py translations/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel -q compile -d translations

# Benchmarks (PostgreSQL, run by hand; figures in the README).
# Benchmarks (by hand, never in the suite): PostgreSQL, Redis and wrk, see benchmarks/README.md.
bench-seed: install-dev
	$(BIN)/python -m benchmarks.seed --workers 1000000

# Every benchmark in turn, then one table: benchmarks/out/results.md (and results.json).
# `make bench BENCH=catalogue,scale` runs only those.
bench: install-dev
	$(BIN)/python -m benchmarks.run_all $(if $(BENCH),--only $(BENCH))

# The failover drill (issue 18; by hand, as root, never in the suite): its own PostgreSQL primary and replica,
# nginx, two app hosts, two schedulers, two queue workers, killed under load; exits 1 when a check fails.
# `make drill DRILL_SECONDS=60` runs a shorter load. See deploy/drill/run.py and the README.
DRILL_SECONDS ?= 120
drill: install-dev
	$(BIN)/python -m deploy.drill --seconds $(DRILL_SECONDS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# The JSON API against its OpenAPI document, in full, on a live demo server (schemathesis; a few minutes).
# The suite runs a bounded version (tests/test_api_document.py). `make api-check API_CHECK_EXAMPLES=500` digs deeper.
api-check: install-dev
	API_CHECK_EXAMPLES=$(or $(API_CHECK_EXAMPLES),100) $(BIN)/python scripts/api_check.py

clean:
	rm -rf $(VENV) instance/classroom.db*

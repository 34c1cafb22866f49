# Worker Classroom — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app classroom
PYTEST_ARGS ?=

.PHONY: run test install install-dev translations babel lint bench bench-seed clean

# ---- set-up --------------------------------------------------------------------------
$(BIN)/python:
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
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving on http://127.0.0.1:5000  (Ctrl-C to stop)"
	CLASSROOM_SCHEDULER=on $(FLASK) run --host 127.0.0.1 --port 5000 --no-reload

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ---- maintenance ---------------------------------------------------------------------
# Extract strings, update both catalogues; the en catalogue mirrors the English source.
babel: $(VENV)/.installed-dev
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs ".* __pycache__ node_modules" -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/fill_en_catalogue.py translations/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel -q compile -d translations

# Benchmarks (PostgreSQL, run by hand; figures in the README).
bench-seed: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.seed --workers 1000000

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.catalogue
	$(BIN)/python -m benchmarks.enroll_race
	$(BIN)/python -m benchmarks.reminders
	$(BIN)/python -m benchmarks.hours_report
	$(BIN)/python -m benchmarks.competition_quota
	$(BIN)/python -m benchmarks.member_import

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance/classroom.db*

# gridpilot: the two commands are `make demo` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install demo serve test test-fast test-ovos lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(VENV)/bin/gridpilot demo

serve: install
	$(VENV)/bin/gridpilot serve

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# two workers (CI has 2 cores; most tests wait on the database, the broker or a browser);
# each worker has its own PostgreSQL database, SQLite file and topic/channel prefixes.
# PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
test: lint test-ovos
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25

# the OVOS skill (integrations/ovos-skill-gridpilot) in its own venv: ovos-workshop pins
# rich<14, which gridpilot's venv does not accept. Built once (the stamp follows the skill's
# pyproject.toml; cache .venv-ovos in CI), then its tests drive a real `gridpilot serve`.
OVOS_VENV ?= .venv-ovos
SKILL := integrations/ovos-skill-gridpilot

$(OVOS_VENV)/.installed: $(SKILL)/pyproject.toml
	$(PYTHON) -m venv $(OVOS_VENV)
	$(OVOS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OVOS_VENV)/bin/python -m pip install --quiet -e '$(SKILL)[test]'
	touch $@

test-ovos: install $(OVOS_VENV)/.installed
	cd $(SKILL) && GRIDPILOT_BIN=$(CURDIR)/$(VENV)/bin/gridpilot \
		$(CURDIR)/$(OVOS_VENV)/bin/python -m pytest -q -p no:cacheprovider

# the quick loop while editing: no lint, no browser tests (tests/web), no tests marked slow,
# no schemathesis run; `make test` still runs everything
test-fast: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not slow" --ignore=tests/web \
		--deselect tests/api/test_openapi_fuzz.py -q

format: install
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: install
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) $(OVOS_VENV) .pytest_cache .mypy_cache .ruff_cache test-output

# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := out/demo

.PHONY: install demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	rm -rf $(DEMO)
	$(PY) scripts/design_schema.py fixtures/example/discovery.json -o $(DEMO)/model.json
	$(PY) scripts/generate_sql.py $(DEMO)/model.json -o $(DEMO)
	$(PY) -m dmodel apply $(DEMO)/dev.sqlite $(DEMO)/migrations/0001_*.sql $(DEMO)/seed.sql

test: install
	$(PY) -m pytest -q

clean:
	rm -rf out $(VENV) .pytest_cache

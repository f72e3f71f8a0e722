# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# wrangler for the local D1 tests, pinned in package-lock.json.
NODE_STAMP := node_modules/.installed
DEMO := out/demo

.PHONY: install demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# npm ci only when node_modules is missing or the lock file changed. Without
# npm the local D1 tests are skipped, and pytest names the reason.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch $(NODE_STAMP); \
	else \
		echo "npm not found: the local D1 tests will be skipped" >&2; \
	fi

demo: install
	rm -rf $(DEMO)
	$(PY) scripts/design_schema.py fixtures/example/discovery.json -o $(DEMO)/model.json
	$(PY) scripts/generate_sql.py $(DEMO)/model.json -o $(DEMO)
	$(PY) -m dmodel apply $(DEMO)/dev.sqlite $(DEMO)/migrations/0001_*.sql $(DEMO)/seed.sql

test: install $(NODE_STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf out $(VENV) .pytest_cache

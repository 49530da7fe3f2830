# smsdesk: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check install clean web-deps dist

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

web-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  cd smsdesk/web && [ -d node_modules/cometd ] || npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the web UI will be unavailable"; fi

## Start the server with demo data on http://127.0.0.1:8080 (embedded SQLite)
run: $(STAMP) web-deps
	$(BIN)/smsdesk demo --host 127.0.0.1 --port 8080

## Run the whole test suite (PostgreSQL/Redis runs switch on when those services answer)
test: $(STAMP) web-deps
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check smsdesk tests
	$(BIN)/ruff format --check smsdesk tests

typecheck: $(STAMP)
	$(BIN)/mypy smsdesk

check: lint typecheck test

## Build the sdist and the wheel into dist/ (the wheel carries the web UI and its npm cometd client: needs npm)
dist: $(STAMP)
	rm -rf dist
	$(BIN)/uv build --out-dir dist

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache dist

# The two quick-start commands: `make run` and `make test`. Both create the
# virtualenv and install the pinned requirements when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test test-fast lint bench sample-data clean

$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## run: start Redis (embedded unless REDIS_URL), one worker and the API on :8080, sample data
run: $(INSTALLED)
	$(BIN)/python -m swagger_server.embedded

## test: lint, then the whole test suite (Redis: the machine's on :6379 if it answers, else embedded)
test: lint
	$(BIN)/python -m pytest

## lint: ruff, mypy --strict on BRTP, and the import contract (BRTP imports no web/queue code)
lint: $(INSTALLED)
	$(BIN)/ruff check BRTP swagger_server workers tests bench
	$(BIN)/ruff format --check BRTP swagger_server workers tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## test-fast: unit tests only (no Redis, worker or browser)
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest tests/unit

## bench: benchmark figures (not part of the tests)
bench: $(INSTALLED)
	$(BIN)/python -m bench.brtp_scale

## sample-data: rewrite the committed sample files from the generator
sample-data: $(INSTALLED)
	$(BIN)/python -m swagger_server.sample_data.generator

clean:
	rm -rf $(VENV) var .pytest_cache

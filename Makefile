# The two quick-start commands: `make run` and `make test`. Both create the
# virtualenv and install the pinned requirements when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test test-fast bench sample-data clean

$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## run: start Redis (embedded unless REDIS_URL), one worker and the API on :8080, sample data
run: $(INSTALLED)
	$(BIN)/python -m swagger_server.embedded

## test: the whole test suite (needs a Redis on 127.0.0.1:6379 or TEST_REDIS_URL; see README)
test: $(INSTALLED)
	$(BIN)/python -m pytest

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

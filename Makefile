# The two quick-start commands: `make run` and `make test`. Both create the
# virtualenv and install the pinned requirements when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
INSTALLED := $(VENV)/.installed-dev

.PHONY: run test test-fast lint audit mutation bench constraints sample-data clean

# the service's own requirements (make run), and this project itself (editable: the `brtp` command)
$(RUNTIME): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# plus test, lint and browser-driving tools (make test)
$(INSTALLED): $(RUNTIME) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

## run: start Redis (embedded unless REDIS_URL), one worker and the API on :8080, sample data
run: $(RUNTIME)
	$(BIN)/python -m swagger_server.embedded

## test: lint, then the whole test suite (Redis: the machine's on :6379 if it answers, else embedded)
test: lint
	$(BIN)/python -m pytest

## lint: ruff (check, format), mypy --strict on every package, the import-linter contracts, bandit (pyproject.toml)
lint: $(INSTALLED)
	$(BIN)/ruff check BRTP swagger_server workers tests bench
	$(BIN)/ruff format --check BRTP swagger_server workers tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r BRTP swagger_server workers

## audit: known vulnerabilities of every pinned package (pip-audit; needs PyPI's JSON API, so not part of lint)
audit: $(INSTALLED)
	$(BIN)/pip-audit --requirement constraints.txt --no-deps --disable-pip --strict --progress-spinner off

## mutation: mutation testing of the SSRF guard and callback delivery, the job store, the central-DB client and
## token checks, and the request rules ([tool.mutmut] in pyproject.toml); prints the score per module. Slow (about
## half an hour), so not part of `make test`. Its Redis: TEST_REDIS_URL, else database 13 of the machine's, else embedded.
mutation: $(INSTALLED)
	rm -rf mutants
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/13} $(BIN)/mutmut run --max-children 1
	$(BIN)/python -m tests.mutation_score --survivors

## test-fast: unit tests only (no Redis, worker or browser)
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest tests/unit

## bench: benchmark figures (not part of the tests)
bench: $(INSTALLED)
	$(BIN)/python -m bench.brtp_scale
	$(BIN)/python -m bench.scale_out
	$(BIN)/python -m bench.data_loading
	$(BIN)/python -m bench.solver_scale
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.dataset_upload

## constraints: re-pin every transitive dependency after changing requirements*.txt
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet -r requirements-dev.txt
	(echo "# Every package version, direct and transitive, as installed and tested together on Python 3.11."; \
	 echo "# Regenerate after changing requirements*.txt: make constraints"; \
	 .venv-constraints/bin/pip freeze --exclude-editable | grep -v "^pip==") > constraints.txt
	rm -rf .venv-constraints

## sample-data: rewrite the committed sample files from the generator
sample-data: $(INSTALLED)
	$(BIN)/python -m swagger_server.sample_data.generator

clean:
	rm -rf $(VENV) var .pytest_cache

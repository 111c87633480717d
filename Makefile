# Two set-up commands on a fresh machine: `make serve` and `make test`.
# Both create .venv and install the pinned dependencies from the lock files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
CONFIG ?= ongoingai.yaml

.PHONY: serve test lint typecheck unit validate-examples bench bench-api bench-redact lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(STAMP_TEST): requirements-test.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(STAMP_RUN)

serve: $(STAMP_RUN)
	$(BIN)/ongoingai serve --config $(CONFIG)

test: $(STAMP_TEST) lint typecheck validate-examples unit

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' editable import hook, so give it a link tree with the
# installed package shape (ongoingai.engine -> engine/, ongoingai.stages -> stages/).
typecheck: $(STAMP_TEST)
	rm -rf .build/typecheck && mkdir -p .build/typecheck/ongoingai
	ln -s ../../../engine .build/typecheck/ongoingai/engine
	ln -s ../../../stages .build/typecheck/ongoingai/stages
	MYPYPATH=.build/typecheck $(BIN)/mypy -p ongoingai.engine -p ongoingai.stages

validate-examples: $(STAMP_TEST)
	@for d in examples/*/; do \
	  echo "ongoingai validate --config $${d}ongoingai.yaml"; \
	  (cd $$d && ../../$(BIN)/ongoingai validate --config ongoingai.yaml) || exit 1; \
	done

unit: $(STAMP_TEST)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP_TEST)
	$(BIN)/python bench/run.py

# Admin API over 1,000,000 seeded traces on SQLite and PostgreSQL (bench/README.md).
bench-api: $(STAMP_TEST)
	$(BIN)/python bench/api_bench.py

# Redaction core: BodyRedactor.redact on 1 KB-1 MB bodies, one thread (bench/README.md).
bench-redact: $(STAMP_TEST)
	$(BIN)/python bench/redact_bench.py

# Regenerate the lock files from pyproject.toml (needs the package registry).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test -o requirements-test.lock --python-version 3.11 -q
	$(BIN)/uv pip compile pyproject.toml -c requirements-test.lock -o requirements.lock --python-version 3.11 -q

clean:
	rm -rf $(VENV) build .build *.egg-info .pytest_cache .mypy_cache .ruff_cache

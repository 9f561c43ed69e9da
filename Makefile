# Staffroom: `make run` serves the API with embedded defaults; `make test` runs everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run serve migrate test test-sqlite test-postgres lint system-deps lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/staffroom migrate

run: install migrate
	$(BIN)/staffroom serve

# Servers the tests start themselves: PostgreSQL 15 and Redis (installed here when missing).
system-deps:
	@missing=""; \
	test -x /usr/lib/postgresql/15/bin/initdb || missing="$$missing postgresql-15"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test-sqlite: install system-deps
	STAFFROOM_TEST_DB=sqlite $(BIN)/pytest

test-postgres: install system-deps
	STAFFROOM_TEST_DB=postgres $(BIN)/pytest

test: lint test-sqlite test-postgres

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml requirements-build.in --extra dev --generate-hashes \
	  --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var

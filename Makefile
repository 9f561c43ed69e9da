# Staffroom: `make run` serves the API with embedded defaults; `make test` runs everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run serve migrate test test-sqlite test-postgres lint system-deps lock clean \
	load faults bench bench-deps fuzz

$(STAMP): requirements.lock requirements-pip.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# The pinned pip first: Debian's (23.2) fetches the newest release of a dependency that
	@# another asks for with extras (piccolo's pydantic[email]) and fails the hash check.
	$(BIN)/pip install -q --require-hashes -r requirements-pip.lock
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/staffroom migrate

run: install migrate
	$(BIN)/staffroom serve

# Servers and tools the tests use: PostgreSQL 15, Redis, xmlsec1 for the pysaml2 test IdP
# (installed here when missing).
system-deps:
	@missing=""; \
	test -x /usr/lib/postgresql/15/bin/initdb || missing="$$missing postgresql-15"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v xmlsec1 >/dev/null || missing="$$missing xmlsec1"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install
	@# python3-saml breaks when lxml and xmlsec bundle different libxml2 builds.
	$(BIN)/python -c "import lxml.etree as e, xmlsec; assert e.LIBXML_VERSION == xmlsec.get_libxml_version()"
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test-sqlite: install system-deps
	STAFFROOM_TEST_DB=sqlite $(BIN)/pytest

test-postgres: install system-deps
	STAFFROOM_TEST_DB=postgres $(BIN)/pytest

# Both databases at once: the two runs share nothing (own data dirs, servers, ports) and
# spend most of their time waiting, so this halves the wall time on two cores.
test: lint system-deps
	@STAFFROOM_TEST_DB=sqlite $(BIN)/pytest --basetemp=$(VENV)/tmp-sqlite \
	  > $(VENV)/test-sqlite.log 2>&1 & s=$$!; \
	STAFFROOM_TEST_DB=postgres $(BIN)/pytest --basetemp=$(VENV)/tmp-postgres \
	  > $(VENV)/test-postgres.log 2>&1 & p=$$!; \
	wait $$s; sr=$$?; wait $$p; pr=$$?; \
	echo "== SQLite (exit $$sr) =="; cat $(VENV)/test-sqlite.log; \
	echo "== PostgreSQL (exit $$pr) =="; cat $(VENV)/test-postgres.log; \
	test $$sr -eq 0 && test $$pr -eq 0

# Load, faults and the benchmark: long runs against real servers, never part of `make test`.
# Results (Markdown + JSON, the benchmark's chart) go to bench/results/.
load: install system-deps
	$(BIN)/python -m bench.load

faults: install system-deps
	$(BIN)/python -m bench.faults

# The contract fuzzing at depth (100 examples an operation, coverage and stateful phases,
# both databases, three callers): an hour or more. Results: bench/results/fuzz.md.
fuzz: install system-deps
	$(BIN)/python -m bench.fuzz

# wrk drives the benchmark's HTTP load (installed here when missing).
bench-deps:
	@command -v wrk >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: install system-deps bench-deps
	$(BIN)/python -m bench.run

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml requirements-build.in --extra dev --generate-hashes \
	  --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile requirements-pip.in --generate-hashes --python-version 3.11 \
	  -o requirements-pip.lock

clean:
	rm -rf $(VENV) var

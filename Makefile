# Staffroom: `make run` serves the API with embedded defaults; `make test` runs everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run serve migrate test test-sqlite test-postgres lint system-deps lock clean web-types \
	load faults bench bench-deps bench-web fuzz scaleout capacity profile

$(STAMP): requirements.lock requirements-pip.lock pyproject.toml
	@# Checked before the venv exists: an older Python fails later with a riddle ("No
	@# matching distribution for atpublic") rather than the reason.
	@py=$(PYTHON); test -x $(BIN)/python && py=$(BIN)/python; \
	$$py -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  v=$$($$py --version 2>&1) || v="not found"; \
	  echo "Staffroom needs Python 3.11 or newer: $$py is $$v."; \
	  echo "Run make PYTHON=python3.11 (or newer), after rm -rf $(VENV) if it was made with another."; \
	  exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# The pinned pip first: Debian's (23.2) fetches the newest release of a dependency that
	@# another asks for with extras (piccolo's pydantic[email]) and fails the hash check.
	$(BIN)/pip install -q --require-hashes -r requirements-pip.lock
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The web app (web/): npm ci from the lock file, Vite builds into the Python package.
WEB_BUILT := src/staffroom/webapp/dist/index.html
WEB_SOURCES := web/package.json web/package-lock.json web/index.html web/vite.config.ts \
	web/tsconfig.json $(shell find web/src web/public -type f 2>/dev/null)

$(WEB_BUILT): $(WEB_SOURCES)
	@command -v npm >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

install: $(STAMP) $(WEB_BUILT)

# After an API change: regenerate the web app's client types from the OpenAPI document.
web-types: $(STAMP)
	$(BIN)/python -m staffroom.webapp.openapi var/openapi.json
	cd web && npx openapi-typescript ../var/openapi.json --default-non-nullable false -o src/api/schema.d.ts

migrate: install
	$(BIN)/staffroom migrate

run: install migrate
	$(BIN)/staffroom serve

# Servers and tools the tests use: PostgreSQL 15, Redis, xmlsec1 for the pysaml2 test IdP,
# Debian's Chromium for the browser journeys
# (installed here when missing).
system-deps:
	@missing=""; \
	test -x /usr/lib/postgresql/15/bin/initdb || missing="$$missing postgresql-15"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v xmlsec1 >/dev/null || missing="$$missing xmlsec1"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf || missing="$$missing fonts-noto-color-emoji"; \
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
	cd web && npx tsc -b && npx eslint .

test-sqlite: install system-deps
	STAFFROOM_TEST_DB=sqlite $(BIN)/pytest

test-postgres: install system-deps
	STAFFROOM_TEST_DB=postgres $(BIN)/pytest

# Both databases at once: the two runs share nothing (own data dirs, servers, ports) and
# spend most of their time waiting, so this halves the wall time on two cores. Tests whose
# subject is not the database run in one of the two (--split-databases: the console's
# browser tests on PostgreSQL, the other browser and server-process tests on SQLite; see
# tests/conftest.py); each run ends by naming its 15 slowest tests. Each run's progress
# streams as it goes, its lines prefixed [sqlite] or [postgres] (pytest's dots and test
# counts, unbuffered); its whole log is kept in .venv/test-<db>.log, its exit code in
# .venv/test-<db>.rc, and both summaries are printed again once both have ended.
test: lint system-deps
	@rm -f $(VENV)/test-sqlite.rc $(VENV)/test-postgres.rc; \
	for db in sqlite postgres; do \
	  { STAFFROOM_TEST_DB=$$db PYTHONUNBUFFERED=1 $(BIN)/pytest --basetemp=$(VENV)/tmp-$$db \
	      --split-databases --durations=15 -o console_output_style=count 2>&1; \
	    echo $$? > $(VENV)/test-$$db.rc; } \
	    | tee $(VENV)/test-$$db.log | sed -u "s/^/[$$db] /" & \
	done; \
	wait; \
	status=0; \
	for db in sqlite postgres; do \
	  rc=$$(cat $(VENV)/test-$$db.rc 2>/dev/null || echo 1); \
	  echo "== $$db (exit $$rc) =="; \
	  sed -n '/short test summary info/,$$p' $(VENV)/test-$$db.log | grep . \
	    || tail -n 1 $(VENV)/test-$$db.log; \
	  test "$$rc" -eq 0 || status=1; \
	done; \
	exit $$status

# Load, faults and the benchmark: long runs against real servers, never part of `make test`.
# Results (Markdown + JSON, the benchmark's chart) go to bench/results/.
# `make load ARGS="--users 1000"`: other sizes (see --help).
load: install system-deps
	$(BIN)/python -m bench.load $(ARGS)

# The load test at 300, 1,000, 2,000 and 3,000 employees with shift-start sign-ins:
# bench/results/capacity.md and capacity.png (about 40 minutes).
capacity: install system-deps
	$(BIN)/python -m bench.capacity $(ARGS)

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

# The production topology of deploy/ on this machine: two instances behind HAProxy (Debian's,
# installed here when missing), one SIGKILLed mid-load. Results: bench/results/scaleout.md.
scaleout: install system-deps
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
	$(BIN)/python -m bench.scaleout

# Flame graphs (py-spy) of the server under each benchmark scenario: bench/results/flame-*.svg.
profile: install system-deps bench-deps
	$(BIN)/python -m bench.profile $(ARGS)

# The web app's budgets alone (also part of `make bench`), on the load test's organisation.
bench-web: install system-deps
	$(BIN)/python -m bench.web

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml requirements-build.in --extra dev --generate-hashes \
	  --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile requirements-pip.in --generate-hashes --python-version 3.11 \
	  -o requirements-pip.lock
	@# The container image's: the runtime dependencies alone, at requirements.lock's pins.
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	  -c requirements.lock -o requirements-runtime.lock

clean:
	rm -rf $(VENV) var web/node_modules src/staffroom/webapp/dist

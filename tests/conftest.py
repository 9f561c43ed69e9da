"""Test set-up. The database is chosen by STAFFROOM_TEST_DB (sqlite or postgres) and
configured here before any staffroom table is imported (Piccolo binds engines at import).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support.servers import DnsServer, PostgresServer, RedisServer

_pg: PostgresServer | None = None
_dns: DnsServer | None = None
_sqlite_dir: str | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--split-databases",
        action="store_true",
        help="run tests whose subject is not the database in one database's run only",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _pg, _dns, _sqlite_dir
    data_dir = tempfile.mkdtemp(prefix="staffroom-test-")
    kind = os.environ.get("STAFFROOM_TEST_DB", "sqlite")
    if kind == "postgres":
        try:
            _pg = PostgresServer.start()
        # Whatever failed (initdb, the server, a port), fail loudly: a PostgreSQL run never skips.
        except Exception as exc:  # noqa: BLE001
            pytest.exit(f"PostgreSQL could not start: {exc}", returncode=3)
        url = _pg.url
    elif kind == "sqlite":
        # Test data only, so in memory-backed /dev/shm where there is one (the PostgreSQL
        # cluster runs with fsync off for the same reason): each commit's fsyncs on disk
        # were most of a small test's set-up.
        shm = "/dev/shm"
        in_memory = os.path.isdir(shm) and os.access(shm, os.W_OK)
        _sqlite_dir = tempfile.mkdtemp(prefix="staffroom-test-db-", dir=shm if in_memory else None)
        url = f"sqlite:///{_sqlite_dir}/test.db"
    else:
        pytest.exit(f"unknown STAFFROOM_TEST_DB={kind!r}", returncode=4)
    # Domain verification asks a real DNS server of our own, never the network.
    _dns = DnsServer.start()
    os.environ.update(
        {
            "STAFFROOM_DNS_NAMESERVERS": _dns.address,
            "STAFFROOM_DNS_TIMEOUT": "2",
            # A dotted host: python3-saml refuses single-label URLs such as http://testserver.
            "STAFFROOM_PUBLIC_URL": "https://staffroom.test",
            "STAFFROOM_ENV": "test",
            "STAFFROOM_DATABASE_URL": url,
            "STAFFROOM_DATA_DIR": data_dir,
            "STAFFROOM_BCRYPT_ROUNDS": "4",
            "STAFFROOM_MAIL_WORKER": "false",
            "STAFFROOM_SCHEDULER": "false",
            "STAFFROOM_LOG_LEVEL": "WARNING",
            "STAFFROOM_REDIS_URL": "",
            "STAFFROOM_KEYS_FILE": "",
            "STAFFROOM_MAIL_BACKEND": "outbox",
            "STAFFROOM_TRUSTED_PROXIES": "",
            # The general limits are tested on their own (tests/core/test_middleware.py); the
            # rest of the suite makes many requests from one address.
            "STAFFROOM_RATE_IP_BURST": "1000000",
            "STAFFROOM_RATE_USER_BURST": "1000000",
            "STAFFROOM_CORS_ORIGINS": "",
        }
    )
    config.stash[_DB_KIND] = kind


_DB_KIND = pytest.StashKey[str]()

# `make test` runs the SQLite and the PostgreSQL suites at once on the same two cores.
# What a test checks beyond the API's answers (a page in a browser, a TLS handshake, how
# granian's workers stop) does not change with the database behind it, so with
# --split-databases such a test runs in one of the two runs, shared out so both take about
# as long: the admin console's browser tests against PostgreSQL, the production database;
# the employees' browser journeys and the rest of tests/web, and the server-process tests
# (marked one_database), against SQLite, the embedded default. Every API and service test
# still runs on both. A plain `pytest` (and `make test-sqlite` / `make test-postgres`)
# runs everything.
_BROWSER_TESTS = os.path.join("tests", "web", "")


def _only_on(item: pytest.Item) -> str | None:
    if _BROWSER_TESTS in str(item.path):
        return "postgres" if item.path.name.startswith("test_admin_") else "sqlite"
    marker = item.get_closest_marker("one_database")
    return str(marker.args[0]) if marker else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--split-databases"):
        return
    kind = config.stash[_DB_KIND]
    elsewhere = [item for item in items if _only_on(item) not in (None, kind)]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if _only_on(item) in (None, kind)]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _pg is not None:
        _pg.stop()
    if _sqlite_dir is not None:
        shutil.rmtree(_sqlite_dir, ignore_errors=True)
    if _dns is not None:
        _dns.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"staffroom database: {config.stash.get(_DB_KIND, '?')}"


@pytest.fixture(scope="session")
async def migrated() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    import staffroom  # noqa: F401  names Piccolo's configuration (a test may import nothing)

    result = await run_forwards(app_name="all")
    assert result.success, result.message


@pytest.fixture(autouse=True)
async def clean_db(migrated: None) -> AsyncIterator[None]:
    from staffroom.core import clock
    from tests.support.db import truncate_all

    await truncate_all()
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def settings() -> Any:
    from staffroom.settings import load_settings

    return load_settings(env_file=None)


# The last app built, and its settings. Building one costs ~0.6 s (route signatures, the
# OpenAPI document), most of a small test's set-up; an app with the same settings is
# reused with a fresh runtime, so nothing a test leaves behind (limiter counts, relays,
# mail) reaches the next.
_last_app: tuple[Any, Any] | None = None


def _app_for(settings: Any) -> Any:
    global _last_app
    from staffroom.app import create_app
    from staffroom.core.logs import configure_logging
    from staffroom.wiring import build_runtime

    if _last_app is None or _last_app[0] != settings:
        _last_app = (settings, create_app(settings))
        return _last_app[1]
    application = _last_app[1]
    configure_logging(settings.log_level, settings.log_json)  # capsys swaps stderr per test
    application.state.runtime = build_runtime(settings)
    return application


@pytest.fixture
async def app(settings: Any) -> AsyncIterator[Any]:
    from staffroom.app import lifespan

    application = _app_for(settings)
    # Our own lifespan, not Litestar's: its task group cannot span fixture set-up and
    # tear-down, which pytest-asyncio runs in different tasks.
    async with lifespan(application):
        yield application


@pytest.fixture
def rt(app: Any) -> Any:
    return app.state.runtime


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    import httpx

    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def world(rt: Any) -> Any:
    from tests.support.world import build_world

    return await build_world(rt)


@pytest.fixture
def dns_zone() -> Iterator[dict[str, list[str]]]:
    """TXT records the test DNS server answers with (name → values), empty per test."""
    assert _dns is not None
    _dns.zone.txt.clear()
    yield _dns.zone.txt
    _dns.zone.txt.clear()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """moto's server (S3, SES, KMS) for the real boto3, on 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    from tests.support.servers import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()

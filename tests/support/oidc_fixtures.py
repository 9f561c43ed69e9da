"""Fixtures of the OIDC sign-in tests: settings that let the SP reach the local provider,
and that provider (tests/support/oidc_op.py), started once a module and reset per test.

A test module binds the ones it uses as its own names (`settings = oidc_fixtures.settings`,
the same for `provider` and `op`): a module's fixtures win over tests/conftest.py's
`settings`, and the SAML tests beside them keep the default settings (so these are not in
tests/sso/conftest.py). Bound rather than imported by name, which ruff would read as an
unused import redefined by every test's parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from staffroom.core import clock
from tests.support.oidc_op import OpenIdProvider


@pytest.fixture
def settings() -> Any:
    from staffroom.settings import load_settings

    # The local provider listens on 127.0.0.1, as an IdP in development would.
    return msgspec.structs.replace(load_settings(env_file=None), sso_metadata_allow_private=True)


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    started = OpenIdProvider(now=clock.now_ts).start()
    yield started
    started.stop()


@pytest.fixture
def op(provider: OpenIdProvider) -> OpenIdProvider:
    provider.reset()
    return provider

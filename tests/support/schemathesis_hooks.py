"""Schemathesis hooks for the contract test: a fresh session for every request, because
fuzzing may log the previous one out (POST /auth/logout is an operation like any other)."""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis


@schemathesis.auth(refresh_interval=None)
class FreshSession:
    def get(self, case: Any, ctx: Any) -> str | None:
        login = os.environ.get("ST_LOGIN")
        if not login:
            return None  # the anonymous run
        r = requests.post(
            os.environ["ST_BASE"] + "/api/v1/auth/login",
            json={
                "org": os.environ["ST_ORG"],
                "login": login,
                "password": os.environ["ST_PASSWORD"],
            },
            timeout=30,
        )
        r.raise_for_status()
        token: str = r.json()["access_token"]
        return token

    def set(self, case: Any, data: str | None, ctx: Any) -> None:
        if data:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

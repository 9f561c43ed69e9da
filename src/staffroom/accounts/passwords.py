"""Password hashing and policy (SECURITY.md rule 4).

bcrypt(base64(HMAC-SHA256(pepper, password))): any length works despite bcrypt's
72-byte limit, and a stolen database alone cannot be used to test guesses.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import bcrypt

from staffroom.core.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 1024


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def check_policy(password: str, context_words: tuple[str, ...] = ()) -> None:
    """Length 10..1024 characters, not common, not the account's own name or address."""
    if len(password) < MIN_LENGTH:
        raise Invalid("password_too_short", f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise Invalid("password_too_long", f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords():
        raise Invalid("password_too_common", "This password is too common; choose another.")
    for word in context_words:
        if word and len(word) >= 4 and lowered == word.lower():
            raise Invalid("password_is_identity", "Do not use your name or address as password.")


def _prehash(pepper: bytes, password: str) -> bytes:
    return base64.b64encode(hmac.new(pepper, password.encode("utf-8"), hashlib.sha256).digest())


def _hash_sync(pepper: bytes, password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(pepper, password), bcrypt.gensalt(rounds)).decode()


def _verify_sync(pepper: bytes, password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(pepper, password), hashed.encode())
    except ValueError:
        return False


# bcrypt runs in threads of its own at a lower CPU priority: a storm of sign-ins (a shift
# starting) then waits for spare CPU instead of slowing every other request down. Two
# threads per process: bcrypt releases the GIL, more would only queue on the cores.
# Costs below 10 (the tests' 4) take a millisecond: nothing to protect the server from,
# and at low priority they would only wait behind everything else.
_NICE = 10
_PRODUCTION_COST = 10


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # per-thread nice: Linux only
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)


_hashing = ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="bcrypt", initializer=_lower_priority
)
_quick = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bcrypt-cheap")


async def _off_loop(rounds: int, fn: Callable[..., object], *args: object) -> object:
    pool = _hashing if rounds >= _PRODUCTION_COST else _quick
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


async def hash_password(pepper: bytes, password: str, rounds: int) -> str:
    """bcrypt off the event loop: it takes ~0.2 s at cost 12."""
    return str(await _off_loop(rounds, _hash_sync, pepper, password, rounds))


async def verify_password(pepper: bytes, password: str, hashed: str | None, rounds: int) -> bool:
    """Check a password; with no hash, burn the same time on a dummy so timing tells nothing."""
    if hashed is None:
        await _off_loop(rounds, _verify_sync, pepper, password, _dummy_hash(rounds))
        return False
    return bool(await _off_loop(rounds, _verify_sync, pepper, password, hashed))


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"staffroom-dummy-password", bcrypt.gensalt(rounds)).decode()


def identity_words(user: dict[str, Any]) -> tuple[str, ...]:
    """What a password must not be built from: the address, its local part, the username
    and the display name."""
    email = user["email"] or ""
    return (email, email.split("@")[0], user["username"] or "", user["display_name"])

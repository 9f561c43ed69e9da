"""Keys and AEAD encryption.

Embedded: a local key file (mode 0600) holding the keys themselves. Production: the same
file holds them only wrapped by AWS KMS (envelope encryption, `core/kms.py`); they are
unwrapped once at start. Ciphertexts carry the id of the data key that sealed them, so
`rotate` (a new active data key) keeps older data readable, and `rewrap` re-encrypts the
stored keys under the newest master key (and moves a local file under KMS).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
# Key file layouts: 1 keys in the clear (embedded), 2 keys wrapped by a master key (KMS).
_WRAPPED = 2


class MasterKey(Protocol):
    """What wraps the key file's keys (AWS KMS in production)."""

    key_id: str

    def wrap(self, plaintext: bytes, purpose: str) -> str: ...

    def unwrap(self, wrapped: str, purpose: str) -> bytes: ...

    def new_data_key(self, purpose: str) -> tuple[bytes, str]: ...

    def rewrap(self, wrapped: str, purpose: str) -> str: ...


class DecryptionFailed(Exception):
    """A ciphertext could not be opened: wrong key, tampering or garbage (never client-caused)."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyRing:
    """Data keys by id (one active), the HMAC key for token digests and the password pepper."""

    data_keys: dict[str, bytes]
    active_key_id: str
    hmac_key: bytes
    pepper: bytes

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> str:
        """Seal with AES-256-GCM under the active key; the result names the key."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.data_keys[self.active_key_id]).encrypt(nonce, plaintext, aad)
        return f"{_VERSION}.{self.active_key_id}.{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, aad: bytes = b"") -> bytes:
        """Open a sealed value; any mismatch fails closed with DecryptionFailed."""
        try:
            version, key_id, body = token.split(".", 2)
            key = self.data_keys[key_id]
            raw = _b64d(body)
            if version != _VERSION or len(raw) < 28:
                raise ValueError(version)
            return AESGCM(key).decrypt(raw[:12], raw[12:], aad)
        except (ValueError, KeyError, InvalidTag) as exc:
            raise DecryptionFailed("a sealed value could not be opened") from exc

    def digest(self, value: str, purpose: str = "token") -> str:
        """HMAC-SHA256 of a secret value, domain-separated by purpose; what is stored."""
        mac = hmac.new(self.hmac_key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()


def _new_key_material() -> dict[str, object]:
    key_id = secrets.token_hex(4)
    return {
        "active_key_id": key_id,
        "data_keys": {key_id: _b64e(AESGCM.generate_key(bit_length=256))},
        "hmac_key": _b64e(secrets.token_bytes(32)),
        "pepper": _b64e(secrets.token_bytes(32)),
    }


def _parse(doc: dict[str, Any], master: MasterKey | None) -> KeyRing:
    if doc.get("version") == _WRAPPED:
        if master is None:
            raise SystemExit("the key file is wrapped by KMS: set STAFFROOM_KMS_KEY_ID")

        def secret(value: str, purpose: str) -> bytes:
            return master.unwrap(value, purpose)

    else:

        def secret(value: str, purpose: str) -> bytes:
            return _b64d(value)

    keys = doc["data_keys"]
    return KeyRing(
        data_keys={str(k): secret(str(v), f"data-key:{k}") for k, v in keys.items()},
        active_key_id=str(doc["active_key_id"]),
        hmac_key=secret(str(doc["hmac_key"]), "hmac-key"),
        pepper=secret(str(doc["pepper"]), "pepper"),
    )


def _new_wrapped_material(master: MasterKey) -> dict[str, Any]:
    key_id = secrets.token_hex(4)
    _, wrapped = master.new_data_key(f"data-key:{key_id}")
    return {
        "version": _WRAPPED,
        "kms_key_id": master.key_id,
        "active_key_id": key_id,
        "data_keys": {key_id: wrapped},
        "hmac_key": master.wrap(secrets.token_bytes(32), "hmac-key"),
        "pepper": master.wrap(secrets.token_bytes(32), "pepper"),
    }


def _write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
    tmp.replace(path)


def _create(path: Path, doc: dict[str, Any]) -> None:
    """Write a new key file unless one appears meanwhile. Instances starting together on a
    shared volume (deploy/compose.yaml) race here: each writes its own temporary file in
    full, and the first hard link wins; the others read the winner's keys, never a half
    written file and never keys of their own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


_lock = threading.Lock()
_cache: dict[Path, KeyRing] = {}


def load_keyring(path: Path, master: MasterKey | None = None) -> KeyRing:
    """Load the key file, creating it (mode 0600) with fresh keys on first use: in the
    clear without a master key, wrapped by it with one."""
    with _lock:
        if path in _cache:
            return _cache[path]
        if not path.exists():
            material = _new_key_material() if master is None else _new_wrapped_material(master)
            _create(path, material)
        ring = _parse(json.loads(path.read_text()), master)
        _cache[path] = ring
        return ring


def rotate_data_key(path: Path, master: MasterKey | None = None) -> str:
    """Add a new active data key (wrapped if the file is); older keys stay for decryption."""
    with _lock:
        doc = json.loads(path.read_text())
        key_id = secrets.token_hex(4)
        if doc.get("version") == _WRAPPED:
            if master is None:
                raise SystemExit("the key file is wrapped by KMS: set STAFFROOM_KMS_KEY_ID")
            doc["data_keys"][key_id] = master.new_data_key(f"data-key:{key_id}")[1]
        else:
            doc["data_keys"][key_id] = _b64e(AESGCM.generate_key(bit_length=256))
        doc["active_key_id"] = key_id
        _write(path, doc)
        _cache.pop(path, None)
        return key_id


def rewrap(path: Path, master: MasterKey) -> int:
    """Re-encrypt every stored key under the master key's newest version; a file in the
    clear is wrapped (moved under KMS). Returns how many keys were rewrapped."""
    with _lock:
        doc = json.loads(path.read_text())
        wrapped = doc.get("version") == _WRAPPED

        def again(value: str, purpose: str) -> str:
            if wrapped:
                return master.rewrap(value, purpose)
            return master.wrap(_b64d(value), purpose)

        doc["data_keys"] = {k: again(v, f"data-key:{k}") for k, v in doc["data_keys"].items()}
        doc["hmac_key"] = again(doc["hmac_key"], "hmac-key")
        doc["pepper"] = again(doc["pepper"], "pepper")
        doc["version"] = _WRAPPED
        doc["kms_key_id"] = master.key_id
        _write(path, doc)
        _cache.pop(path, None)
        return len(doc["data_keys"]) + 2

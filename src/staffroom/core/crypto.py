"""Keys and AEAD encryption. The embedded key module is a local key file; KMS comes later.

Ciphertexts carry the id of the key that sealed them, so adding a new active key
(rotation) keeps everything sealed under older keys readable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


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


def _parse(doc: dict[str, object]) -> KeyRing:
    keys = doc["data_keys"]
    assert isinstance(keys, dict)
    return KeyRing(
        data_keys={str(k): _b64d(str(v)) for k, v in keys.items()},
        active_key_id=str(doc["active_key_id"]),
        hmac_key=_b64d(str(doc["hmac_key"])),
        pepper=_b64d(str(doc["pepper"])),
    )


_lock = threading.Lock()
_cache: dict[Path, KeyRing] = {}


def load_keyring(path: Path) -> KeyRing:
    """Load the key file, creating it (mode 0600) with fresh keys on first use."""
    with _lock:
        if path in _cache:
            return _cache[path]
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(_new_key_material(), fh, indent=2)
        ring = _parse(json.loads(path.read_text()))
        _cache[path] = ring
        return ring


def rotate_data_key(path: Path) -> str:
    """Add a new active data key to the key file; older keys stay for decryption."""
    with _lock:
        doc = json.loads(path.read_text())
        key_id = secrets.token_hex(4)
        doc["data_keys"][key_id] = _b64e(AESGCM.generate_key(bit_length=256))
        doc["active_key_id"] = key_id
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
        tmp.replace(path)
        _cache.pop(path, None)
        return key_id

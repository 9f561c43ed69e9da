"""AWS KMS through boto3: the master key of envelope encryption (the one KMS adapter).

The key file then holds data keys, the HMAC key and the pepper only as KMS ciphertexts;
starting the service decrypts them once. An encryption context binds each ciphertext to
what it is, so a wrapped pepper cannot be passed off as a data key.
"""

from __future__ import annotations

import base64
from typing import Any

from staffroom.core.crypto import KeyRing, load_keyring
from staffroom.settings import Settings

PREFIX = "kms:"


class KmsMaster:
    """Wraps and unwraps key material with one KMS key."""

    def __init__(self, key_id: str, region: str, endpoint_url: str = "") -> None:
        import boto3

        self.key_id = key_id
        self.client: Any = boto3.client(
            "kms", region_name=region, endpoint_url=endpoint_url or None
        )

    @staticmethod
    def _context(purpose: str) -> dict[str, str]:
        return {"staffroom": purpose}

    def wrap(self, plaintext: bytes, purpose: str) -> str:
        blob = self.client.encrypt(
            KeyId=self.key_id, Plaintext=plaintext, EncryptionContext=self._context(purpose)
        )["CiphertextBlob"]
        return PREFIX + base64.b64encode(blob).decode()

    def unwrap(self, wrapped: str, purpose: str) -> bytes:
        if not wrapped.startswith(PREFIX):
            raise ValueError("not a KMS-wrapped value")
        blob = base64.b64decode(wrapped.removeprefix(PREFIX))
        plaintext: bytes = self.client.decrypt(
            CiphertextBlob=blob, EncryptionContext=self._context(purpose)
        )["Plaintext"]
        return plaintext

    def new_data_key(self, purpose: str) -> tuple[bytes, str]:
        """A fresh AES-256 data key: (plaintext, wrapped) in one KMS call."""
        got = self.client.generate_data_key(
            KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=self._context(purpose)
        )
        return got["Plaintext"], PREFIX + base64.b64encode(got["CiphertextBlob"]).decode()

    def rewrap(self, wrapped: str, purpose: str) -> str:
        """Re-encrypt under this master key (its newest version) without exposing the key."""
        blob = base64.b64decode(wrapped.removeprefix(PREFIX))
        context = self._context(purpose)
        fresh = self.client.re_encrypt(
            CiphertextBlob=blob,
            SourceEncryptionContext=context,
            DestinationKeyId=self.key_id,
            DestinationEncryptionContext=context,
        )["CiphertextBlob"]
        return PREFIX + base64.b64encode(fresh).decode()


def master_for(settings: Settings) -> KmsMaster | None:
    """The KMS master key when configured; None for the embedded key file in the clear."""
    if not settings.kms_key_id:
        return None
    region = settings.kms_region or settings.s3_region
    return KmsMaster(settings.kms_key_id, region, settings.kms_endpoint_url)


def keyring_for(settings: Settings) -> KeyRing:
    """The key ring of these settings (unwrapped through KMS when configured)."""
    return load_keyring(settings.effective_keys_file, master_for(settings))

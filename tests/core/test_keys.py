"""Keys (T12): envelope encryption with AWS KMS through boto3 against moto's server,
rotation keeps old data readable, rewrap moves a key file under KMS, a wrong key fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from staffroom.core import crypto
from staffroom.core.crypto import load_keyring, rewrap, rotate_data_key
from staffroom.core.kms import KmsMaster, keyring_for, master_for


@pytest.fixture
def kms(moto_s3: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("kms", region_name="eu-central-1", endpoint_url=moto_s3)


def _fresh(path: Path) -> None:
    crypto._cache.pop(path, None)  # as a new process would


def _settings(settings: Any, tmp_path: Path, moto_s3: str, key_id: str) -> Any:
    return msgspec.structs.replace(
        settings,
        keys_file=str(tmp_path / "keys.json"),
        kms_key_id=key_id,
        kms_region="eu-central-1",
        kms_endpoint_url=moto_s3,
    )


def test_with_kms_the_key_file_holds_only_wrapped_keys(settings, tmp_path, moto_s3, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    s = _settings(settings, tmp_path, moto_s3, key_id)
    ring = keyring_for(s)
    sealed = ring.encrypt(b"salary list", b"aad")
    doc = json.loads(Path(s.keys_file).read_text())
    assert doc["version"] == 2 and doc["kms_key_id"] == key_id
    values = [*doc["data_keys"].values(), doc["hmac_key"], doc["pepper"]]
    assert all(v.startswith("kms:") for v in values)
    assert os.stat(s.keys_file).st_mode & 0o777 == 0o600
    _fresh(Path(s.keys_file))
    again = keyring_for(s)
    assert again.decrypt(sealed, b"aad") == b"salary list"
    assert again.hmac_key == ring.hmac_key and again.pepper == ring.pepper
    # Without KMS the wrapped file cannot be opened at all.
    _fresh(Path(s.keys_file))
    with pytest.raises(SystemExit, match="KMS"):
        load_keyring(Path(s.keys_file))


def test_rotation_under_kms_keeps_old_data_readable(settings, tmp_path, moto_s3, kms):
    s = _settings(settings, tmp_path, moto_s3, kms.create_key()["KeyMetadata"]["KeyId"])
    old = keyring_for(s).encrypt(b"before", b"")
    new_id = rotate_data_key(Path(s.keys_file), master_for(s))
    ring = keyring_for(s)
    assert ring.active_key_id == new_id
    assert ring.decrypt(old, b"") == b"before"
    assert ring.encrypt(b"after", b"").split(".")[1] == new_id


def test_rewrap_moves_a_clear_file_under_kms_and_to_a_new_master(settings, tmp_path, moto_s3, kms):
    path = tmp_path / "keys.json"
    clear = load_keyring(path)  # the embedded default: keys in the clear
    sealed = clear.encrypt(b"kept", b"x")
    first = kms.create_key()["KeyMetadata"]["KeyId"]
    assert rewrap(path, KmsMaster(first, "eu-central-1", moto_s3)) == 3
    text = path.read_text()
    assert crypto._b64e(clear.pepper) not in text and crypto._b64e(clear.hmac_key) not in text
    s = _settings(settings, tmp_path, moto_s3, first)
    assert keyring_for(s).decrypt(sealed, b"x") == b"kept"
    # A new master key: everything re-encrypted under it, data still readable.
    second = kms.create_key()["KeyMetadata"]["KeyId"]
    rewrap(path, KmsMaster(second, "eu-central-1", moto_s3))
    s2 = _settings(settings, tmp_path, moto_s3, second)
    assert json.loads(path.read_text())["kms_key_id"] == second
    assert keyring_for(s2).decrypt(sealed, b"x") == b"kept"
    kms.disable_key(KeyId=first)
    _fresh(path)
    assert keyring_for(s2).pepper == clear.pepper


def test_a_wrapped_key_passed_off_as_another_fails(settings, tmp_path, moto_s3, kms):
    s = _settings(settings, tmp_path, moto_s3, kms.create_key()["KeyMetadata"]["KeyId"])
    keyring_for(s)
    doc = json.loads(Path(s.keys_file).read_text())
    doc["pepper"], doc["hmac_key"] = doc["hmac_key"], doc["pepper"]
    Path(s.keys_file).write_text(json.dumps(doc))
    _fresh(Path(s.keys_file))
    with pytest.raises(Exception, match=r"(?i)invalid|context|ciphertext"):
        keyring_for(s)


def test_the_keys_commands(tmp_path):
    env = {
        **os.environ,
        "STAFFROOM_KEYS_FILE": str(tmp_path / "keys.json"),
        "STAFFROOM_KMS_KEY_ID": "",
    }
    ring = load_keyring(tmp_path / "keys.json")
    old = ring.encrypt(b"x", b"")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "staffroom", "keys", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    rotated = run("rotate")
    assert rotated.returncode == 0 and "new active data key" in rotated.stderr
    _fresh(tmp_path / "keys.json")
    fresh = load_keyring(tmp_path / "keys.json")
    assert fresh.active_key_id != ring.active_key_id and fresh.decrypt(old, b"") == b"x"
    refused = run("rewrap")
    assert refused.returncode == 2 and "STAFFROOM_KMS_KEY_ID" in refused.stderr


def test_instances_starting_together_share_one_key_file(tmp_path, monkeypatch):
    """Two instances on one volume (deploy/compose.yaml) both find no key file and both
    create one: the second must take the first's keys, not fail and not replace them."""
    path = tmp_path / "shared" / "keys.json"
    first = load_keyring(path)
    _fresh(path)
    # The second instance looked before the first had written.
    monkeypatch.setattr(Path, "exists", lambda self: False)
    second = load_keyring(path)
    monkeypatch.undo()
    assert second.hmac_key == first.hmac_key and second.pepper == first.pepper
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["keys.json"]  # no temporary left

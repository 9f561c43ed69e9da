"""Settings from the environment, AEAD sealing with rotation, tokens and codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from staffroom.core.crypto import DecryptionFailed, load_keyring, rotate_data_key
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Invalid
from staffroom.core.tokens import CROCKFORD, new_code, new_token, normalize_code
from staffroom.settings import load_settings, unknown_settings


def test_settings_come_from_env_and_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "STAFFROOM_PORT=9001\nSTAFFROOM_REQUIRE=ignored\nSTAFFROOM_LOG_JSON=false\n"
    )
    s = load_settings(
        {
            "STAFFROOM_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.0/16",
            "STAFFROOM_ACCESS_TOKEN_TTL": "600",
            "OTHER": "x",
        },
        env_file=str(env_file),
    )
    assert s.port == 9001 and s.log_json is False and s.access_token_ttl == 600
    assert s.trusted_proxies == ("10.0.0.0/8", "192.168.0.0/16")
    assert load_settings({"STAFFROOM_PORT": "9002"}, env_file=str(env_file)).port == 9002
    assert s.effective_database_url.startswith("sqlite:///")
    with pytest.raises(SystemExit):
        load_settings({"STAFFROOM_PORT": "many"}, env_file=None)


def test_variables_that_name_no_setting_are_listed_for_serve_to_warn(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("STAFFROOM_PORT=9001\nSTAFFROOM_MAIL_MAX_ATTEMPTS=12\n")
    environ = {"STAFFROOM_PUBNUB_SECRET_KEYS": "typo", "STAFFROOM_LOG_JSON": "true", "HOME": "/"}
    assert unknown_settings(environ, env_file=str(env_file)) == [
        "STAFFROOM_MAIL_MAX_ATTEMPTS",
        "STAFFROOM_PUBNUB_SECRET_KEYS",
    ]
    # Every variable .env.example documents is a setting.
    example = str(Path(__file__).parents[2] / ".env.example")
    assert unknown_settings({}, env_file=example) == []


def test_env_example_documents_every_setting() -> None:
    from staffroom.settings import Settings

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    documented = {
        line.split("=", 1)[0].removeprefix("# ").strip()
        for line in example.splitlines()
        if "STAFFROOM_" in line and "=" in line
    }
    assert {f"STAFFROOM_{name.upper()}" for name in Settings.__struct_fields__} <= documented


def test_sealing_round_trips_and_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = load_keyring(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    old = ring.encrypt(b"secret one", b"aad")
    assert ring.decrypt(old, b"aad") == b"secret one"
    new_id = rotate_data_key(path)
    rotated = load_keyring(path)
    assert rotated.active_key_id == new_id != ring.active_key_id
    new = rotated.encrypt(b"secret two", b"aad")
    assert f".{new_id}." in new
    assert rotated.decrypt(old, b"aad") == b"secret one"  # old data stays readable
    assert rotated.decrypt(new, b"aad") == b"secret two"
    assert rotated.pepper == ring.pepper and rotated.hmac_key == ring.hmac_key


def test_wrong_key_tampering_or_wrong_context_fail_closed(tmp_path: Path) -> None:
    ring = load_keyring(tmp_path / "a.json")
    other = load_keyring(tmp_path / "b.json")
    sealed = ring.encrypt(b"totp secret", b"user-1")
    version, key_id, body = sealed.split(".")
    other_doc = json.loads((tmp_path / "b.json").read_text())
    forged = f"{version}.{other_doc['active_key_id']}.{body}"
    tampered = f"{version}.{key_id}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}"
    for bad, ring_used, aad in [
        (sealed, other, b"user-1"),
        (forged, other, b"user-1"),
        (tampered, ring, b"user-1"),
        (sealed, ring, b"user-2"),
        ("garbage", ring, b""),
        ("v1.x.", ring, b""),
    ]:
        with pytest.raises(DecryptionFailed):
            ring_used.decrypt(bad, aad)


def test_tokens_and_codes_have_enough_entropy() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    code = new_code()
    raw = code.replace("-", "")
    assert len(raw) * 5 >= 80 and set(raw) <= set(CROCKFORD)
    assert normalize_code(code.lower().replace("-", " ")) == raw
    assert normalize_code("o1l-I") == "0111"


def test_email_normalisation() -> None:
    assert normalize_email("  Mia.Muster@ACME.Example ") == "mia.muster@acme.example"
    assert normalize_email("mia@bücher.example") == "mia@xn--bcher-kva.example"
    # a Cyrillic a (U+0430) makes a different domain, never the Latin one
    assert normalize_email("mia@\u0430cme.com") != "mia@acme.com"
    for bad in ["", "mia", "mia@", "@acme.example", "mia@acme..example", "a b@acme.example"]:
        with pytest.raises(Invalid):
            normalize_email(bad)

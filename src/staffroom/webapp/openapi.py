"""Writes the API's OpenAPI document, from which the web app's client types are generated
(`make web-types`); a test checks the committed types still match it."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from litestar import Litestar
from litestar.serialization import encode_json


def document(app: Litestar) -> bytes:
    """The app's OpenAPI document as JSON."""
    return encode_json(app.openapi_schema.to_schema())


def main(out: str) -> None:
    """Write the document of an app with default settings (nothing is written to ./var)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"STAFFROOM_DATA_DIR": tmp, "STAFFROOM_KEYS_FILE": ""})
        from staffroom.app import create_app
        from staffroom.settings import load_settings

        Path(out).write_bytes(document(create_app(load_settings(env_file=None))))


if __name__ == "__main__":
    main(sys.argv[1])

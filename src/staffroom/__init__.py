"""Staffroom: the backend of an employee communications app."""

import os

__version__ = "0.1.0"

# Piccolo binds every table to the engine of the module named here when the table is
# imported; without it Piccolo would quietly fall back to a stray ./piccolo.sqlite.
os.environ.setdefault("PICCOLO_CONF", "staffroom.piccolo_conf")

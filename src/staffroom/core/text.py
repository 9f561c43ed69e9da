"""Cleaning text people type: names, titles, labels."""

from __future__ import annotations

from staffroom.core.errors import Invalid


def clean_name(value: str, field: str = "name") -> str:
    """A display name or group name without surrounding blanks; blank is refused."""
    cleaned = " ".join(value.split())
    if not cleaned:
        raise Invalid(f"invalid_{field}", f"The {field.replace('_', ' ')} must not be blank.")
    return cleaned

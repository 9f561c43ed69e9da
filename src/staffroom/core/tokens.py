"""Secret tokens and human-typed codes (SECURITY.md rules 1 and 2)."""

from __future__ import annotations

import secrets

# Crockford base32: no I, L, O or U, so codes survive being read aloud and typed.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPO_MAP = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_token() -> str:
    """A 256-bit URL-safe secret."""
    return secrets.token_urlsafe(32)


def new_code(groups: int = 4) -> str:
    """A human-typed code of 5 bits a character, shown as XXXX-XXXX-XXXX-XXXX (80 bits)."""
    chars = "".join(secrets.choice(CROCKFORD) for _ in range(groups * 4))
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def normalize_code(text: str) -> str:
    """Canonical form of a typed code: upper case, no separators, common typos mapped."""
    cleaned = "".join(ch for ch in text.upper() if ch not in "- \t")
    return cleaned.translate(_TYPO_MAP)

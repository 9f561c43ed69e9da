"""Email addresses are parsed and normalised once (SECURITY.md rule 9)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from staffroom.core.errors import Invalid


def normalize_email(address: str) -> str:
    """Canonical form: lower-case local part, lower-case ASCII (IDNA) domain.

    Homoglyph domains stay distinct (acme.com spelt with a Cyrillic U+0430 becomes
    `xn--…`),
    so they can never match a bound domain.
    """
    try:
        parsed = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("invalid_email", "This is not a valid email address.") from exc
    domain = (parsed.ascii_domain or parsed.domain).lower()
    return f"{parsed.local_part.lower()}@{domain}"


def domain_of(address: str) -> str:
    """The domain of a normalised address."""
    return address.rsplit("@", 1)[1]

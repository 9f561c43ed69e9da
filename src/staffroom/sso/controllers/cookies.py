"""The cookie an OpenID Connect sign-in sets in the browser that starts it."""

from __future__ import annotations

from litestar.datastructures import Cookie

from staffroom.sso.oidc.binding import BrowserBinding


def bound(binding: BrowserBinding | None) -> list[Cookie]:
    """The cookie binding an OpenID Connect sign-in to this browser (none for SAML): only
    sent back to our callback, never readable by scripts, and on the IdP's top-level
    redirect back to us (Lax), not on cross-site subrequests."""
    if binding is None:
        return []
    return [
        Cookie(
            key=binding.name,
            value=binding.value,
            max_age=binding.max_age,
            path=binding.path,
            httponly=True,
            secure=True,
            samesite="lax",
        )
    ]

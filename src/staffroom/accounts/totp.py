"""TOTP codes (RFC 6238) without replay: callers store the accepted step."""

from __future__ import annotations

import hmac
import io

import pyotp
import segno

STEP_SECONDS = 30
DIGITS = 6
# ±1 step: accepts a code from the previous or next 30 s window, no wider (rule 7).
VALID_WINDOW = 1


def new_secret() -> str:
    """A 160-bit base32 secret."""
    return pyotp.random_base32(length=32)


def current_step(now: float) -> int:
    """The time step counter for a Unix time."""
    return int(now // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    """The code for a step."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The step within the window whose code equals `code`, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now_step = current_step(now)
    found = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        # compare every candidate so timing does not reveal which matched
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code (call in a thread: rendering is CPU work)."""
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=4, xmldecl=False, svgns=True)
    return buf.getvalue().decode()

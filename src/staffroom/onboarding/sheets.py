"""Access codes as HR hands them out: a CSV, and a printable PDF of cut-out cards.

Rendering is CPU work: callers run it in a thread (rule 5). QR codes come from segno
and are drawn as vector rectangles, so they stay sharp on any printer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path

import segno
from fpdf import FPDF

from staffroom.core.csvfiles import to_csv
from staffroom.onboarding.schemas import IssuedCode

# A4 portrait, 2 x 5 cards of 90 x 54 mm (about a business card) with cutting margins.
_COLS, _ROWS = 2, 5
_CARD_W, _CARD_H = 90.0, 54.0
_LEFT, _TOP, _GAP_X, _GAP_Y = 12.0, 12.5, 6.0, 1.0
_QR_MM = 30.0
_PAD = 4.0
_TEXT_W = _CARD_W - _QR_MM - 3 * _PAD
_DARK_RUN = re.compile(rb"\x01+")


@dataclass(frozen=True)
class SheetInfo:
    """What every card of a batch shows besides its code."""

    org_name: str
    label: str
    expires_at: datetime
    size: int
    redeem_hint: str  # where to type the code by hand, e.g. app.acme.example/redeem


def codes_csv(info: SheetInfo, codes: list[IssuedCode]) -> bytes:
    """One row a code: card number, code, person, label, expiry and redeem link."""
    header = ["card", "code", "employee_id", "display_name", "label", "expires_at", "redeem_link"]
    expires = info.expires_at.date().isoformat()
    return to_csv(
        header,
        (
            [c.seq, c.code, c.employee_id, c.display_name, info.label, expires, c.redeem_link]
            for c in codes
        ),
    )


@cache
def _font_dir() -> Path:
    return Path(str(resources.files("staffroom.onboarding").joinpath("data/fonts")))


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Shorten text with an ellipsis until it fits the width."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """Draw a QR code as one filled path of rectangles, a run of dark modules each.

    A fixed mask skips segno's search over all eight (7/8 of its time); every mask is
    valid and scans. The path goes out in one write to the page, as fpdf2's rect() would
    write it rectangle by rectangle: 5,000 cards would otherwise take over a minute.
    """
    matrix = segno.make(data, error="m", micro=False, mask=0).matrix  # rows of 0/1 bytes
    k, module = pdf.k, size / len(matrix)
    ops = []
    for r, row in enumerate(matrix):
        top = (pdf.h - (y + r * module)) * k
        for run in _DARK_RUN.finditer(bytes(row)):
            left = (x + run.start() * module) * k
            width = (run.end() - run.start()) * module * k
            ops.append(f"{left:.2f} {top:.2f} {width:.2f} {-module * k:.2f} re")
    pdf._out(" ".join(ops) + " f")


@dataclass(frozen=True)
class _Static:
    """The texts every card of a batch shares, fitted to the card once."""

    org: str
    label: str
    hint: str
    expires: str


def _static(pdf: FPDF, info: SheetInfo, text_w: float) -> _Static:
    pdf.set_font("DejaVu", "B", 11)
    org = _fit(pdf, info.org_name, text_w)
    pdf.set_font("DejaVu", "", 7.5)
    label = _fit(pdf, info.label, text_w)
    pdf.set_font("DejaVu", "", 6.5)
    hint = _fit(pdf, f"   {info.redeem_hint}", text_w)
    return _Static(org, label, hint, info.expires_at.date().isoformat())


def _card(pdf: FPDF, info: SheetInfo, fixed: _Static, code: IssuedCode, x: float, y: float) -> None:
    # text() places a baseline without cell layout: a fifth of cell()'s cost per line.
    pdf.set_draw_color(170)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.rect(x, y, _CARD_W, _CARD_H)
    pdf.set_dash_pattern()
    left = x + _PAD
    pdf.set_text_color(0)
    pdf.set_font("DejaVu", "B", 11)
    pdf.text(left, y + 8, fixed.org)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(90)
    pdf.text(left, y + 12.5, fixed.label)
    if code.display_name:
        pdf.set_text_color(0)
        pdf.set_font("DejaVu", "B", 8.5)
        person = f"{code.display_name} ({code.employee_id})" if code.employee_id else ""
        pdf.text(left, y + 17, _fit(pdf, person or code.display_name, _TEXT_W))
    pdf.set_text_color(0)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.text(left, y + 24, "Your Staffroom access code")
    pdf.set_font("Courier", "B", 11.5)
    pdf.text(left, y + 29.5, code.code)
    pdf.set_font("DejaVu", "", 6.5)
    pdf.set_text_color(60)
    steps = ("1. Scan the QR code, or open", fixed.hint, "2. Choose a username and password")
    for i, line in enumerate(steps):
        pdf.text(left, y + 35.5 + i * 3.4, line)
    pdf.text(
        left,
        y + _CARD_H - _PAD - 1,
        f"Card {code.seq} of {info.size} · valid until {fixed.expires}"
        " · single use, keep it private",
    )
    _qr(pdf, code.redeem_link, x + _CARD_W - _QR_MM - _PAD, y + _PAD + 2, _QR_MM)


def codes_pdf(
    info: SheetInfo, codes: list[IssuedCode], progress: Callable[[int, int], None] | None = None
) -> bytes:
    """A4 sheets of cut-out cards: org, label, person, code, QR of the redeem link."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{info.org_name}: {info.label}")
    pdf.set_creator("Staffroom")
    pdf.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
    pdf.set_fill_color(0)
    fixed = _static(pdf, info, _TEXT_W)
    per_page = _COLS * _ROWS
    for i, code in enumerate(codes):
        slot = i % per_page
        if slot == 0:
            pdf.add_page()
        col, row = slot % _COLS, slot // _COLS
        _card(
            pdf,
            info,
            fixed,
            code,
            _LEFT + col * (_CARD_W + _GAP_X),
            _TOP + row * (_CARD_H + _GAP_Y),
        )
        if progress and (i + 1) % per_page == 0:
            progress(i + 1, len(codes))
    return bytes(pdf.output())

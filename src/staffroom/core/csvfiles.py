"""CSV written for people to open in spreadsheets (SECURITY.md rule 14)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from staffroom.core.errors import Invalid

# Cells a spreadsheet would run as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe where it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def to_csv(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel reads umlauts right), every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@dataclass
class CsvTable:
    """A CSV file read for import: its delimiter and its non-blank rows by line number."""

    delimiter: str
    rows: list[tuple[int, dict[str, str]]]


def read_table(body: bytes, required: str, max_rows: int) -> CsvTable:
    """UTF-8 (with or without BOM), `,` or `;`, header names in any case; cells stripped.

    Every failure is a 422 with a stable code (csv_not_utf8, csv_invalid, csv_empty,
    csv_no_<column>_column, csv_too_many_rows).
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("csv_not_utf8", "The file must be UTF-8 encoded CSV.") from exc
    if "\x00" in text:
        raise Invalid("csv_invalid", "This is not a CSV file.")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise Invalid("csv_invalid", f"The CSV cannot be read: {exc}.") from exc
    if not rows:
        raise Invalid("csv_empty", "The file is empty.")
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    if required not in header:
        raise Invalid(f"csv_no_{required}_column", f"The header needs a `{required}` column.")
    if len(rows) - 1 > max_rows:
        raise Invalid("csv_too_many_rows", f"Import at most {max_rows} rows at a time.")
    table = []
    for number, cells in enumerate(rows[1:], start=2):
        if any(c.strip() for c in cells):
            table.append((number, dict(zip(header, (c.strip() for c in cells), strict=False))))
    return CsvTable(delimiter=delimiter, rows=table)

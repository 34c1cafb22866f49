"""Spreadsheet exports (CSV and XLSX) that no spreadsheet will evaluate as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

# A cell starting with one of these is read as a formula (or DDE) by Excel, WPS or LibreOffice;
# full-width forms too, since some spreadsheets normalise them. A leading line feed counts like the
# carriage return: XLSX itself stores a CR as an LF, and an importer trimming either meets the formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralize(value):
    """Text that could start a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralize(str(cell)) for cell in header])
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """An XLSX sheet whose text cells are stored as text (never formulas)."""
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = title[:31] or "Sheet1"
    sheet.append([str(cell) for cell in header])
    for row in rows:
        sheet.append([neutralize(cell) for cell in row])
    for line in sheet.iter_rows(min_row=1):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING  # never "f", whatever the text looks like
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

"""Spreadsheet exports (CSV and XLSX) that no spreadsheet will evaluate as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.workbook.child import INVALID_TITLE_REGEX as INVALID_TITLE

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# A cell starting with one of these is read as a formula (or DDE) by Excel, WPS or LibreOffice;
# full-width forms too, since some spreadsheets normalise them. A leading line feed counts like the
# carriage return: XLSX itself stores a CR as an LF, and an importer trimming either meets the formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralize(value: object) -> object:
    """CSV: text that could start a formula gets a leading apostrophe; numbers stay numbers."""
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
    """An XLSX sheet whose text cells are stored as text, never formulas: each is a string cell, and one
    that starts like a formula also carries the quote-prefix style, so Excel, WPS and LibreOffice show
    it as written (no apostrophe in the text) and will not evaluate it even once edited."""
    book = Workbook(write_only=True)  # rows are streamed: memory stays flat however long the export
    sheet = book.create_sheet(INVALID_TITLE.sub(" ", title)[:31].strip() or "Sheet1")
    sheet.append([_text_cell(sheet, str(cell)) for cell in header])
    for row in rows:
        sheet.append([_text_cell(sheet, cell) if isinstance(cell, str) else cell for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = TYPE_STRING  # openpyxl reads a leading "=" as a formula
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell

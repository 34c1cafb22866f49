"""Reading uploaded sheets (CSV, XLSX) within the upload limits, as streams (issue 14).

Every reader of an uploaded sheet (member import, paper rosters, score sheets) goes through
``read_sheet``; the member import's upload request calls ``inspect_sheet`` to refuse a bad file
before any job exists. In order: the file's size; for XLSX the zip central directory (parts,
declared unpacked size, compression ratio of big parts), then one expat pass over every XML part in
constant memory (``classroom.xlsx_scan``), counting the bytes really inflated; only then openpyxl's
read-only reader, through the same metering, stopped at the row limit. A CSV is read line by
bounded line. Any limit passed raises ``LimitExceeded``, whose message names the limit.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterable, Iterator
from typing import IO

from openpyxl.reader.excel import ExcelReader

from classroom.uploads import (
    CHUNK,
    Limits,
    Meter,
    MeteredZipFile,
    Source,
    cell_too_long,
    check_package,
    check_size,
    opened,
    too_many_columns,
    too_many_rows,
)
from classroom.xlsx_scan import scan_package


def inspect_sheet(source: Source, fmt: str, lim: Limits) -> int:
    """Refuse a sheet beyond the limits without keeping its values; the number of rows it has."""
    if fmt == "csv":
        return sum(1 for _row in read_sheet(source, fmt, lim))
    with opened(source) as handle:
        check_size(handle, lim.max_bytes)
        return _scan_xlsx(handle, lim)


def read_sheet(source: Source, fmt: str, lim: Limits, *, active: bool = False) -> Iterator[list]:
    """The rows of a CSV or of an XLSX's first (or ``active``) sheet, as lists of cell values without
    trailing blanks; LimitExceeded as soon as a limit is passed (nothing beyond it is read)."""
    with opened(source) as handle:
        check_size(handle, lim.max_bytes)
        rows = _csv_rows(handle, lim) if fmt == "csv" else _xlsx_rows(handle, lim, active)
        try:
            for number, row in enumerate(rows, start=1):
                yield _checked(row, number, lim)
        finally:
            rows.close()  # while the handle is still open


def _checked(values: Iterable, row: int, lim: Limits) -> list:
    cells = list(values)
    while cells and cells[-1] in (None, ""):
        cells.pop()
    if cells and row > lim.rows:
        raise too_many_rows(lim.rows)
    if len(cells) > lim.columns:
        raise too_many_columns(row, lim.columns)
    if any(isinstance(cell, str) and len(cell) > lim.cell_chars for cell in cells):
        raise cell_too_long(row, lim.cell_chars)
    return cells


def _scan_xlsx(handle: IO[bytes], lim: Limits) -> int:
    check_package(handle, lim)
    with MeteredZipFile(handle, Meter(lim.unpacked)) as archive:
        return scan_package(archive, lim)


def _xlsx_rows(handle: IO[bytes], lim: Limits, active: bool) -> Generator[tuple, None, None]:
    _scan_xlsx(handle, lim)  # what openpyxl will keep in memory is bounded before it parses anything
    reader = ExcelReader(handle, read_only=True, data_only=True, keep_links=False)
    reader.archive.close()
    reader.archive = MeteredZipFile(handle, Meter(lim.unpacked))
    reader.read()
    book = reader.wb
    try:
        sheet = book.active if active else book.worksheets[0]
        sheet.reset_dimensions()  # a declared dimension may lie; each row is as wide as its last cell
        yield from sheet.iter_rows(max_row=lim.rows + 1, values_only=True)
    finally:
        book.close()


def _csv_rows(handle: IO[bytes], lim: Limits) -> Generator[list[str], None, None]:
    """CSV in UTF-8 (with or without BOM), else GB18030, comma- or tab-separated, line by bounded line."""
    encoding = _encoding(handle)
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    longest = lim.columns * (lim.cell_chars + 3)  # every cell quoted, at its longest
    number = 0

    def lines() -> Iterator[str]:
        """The text's lines, each refused past the longest a row may be."""
        nonlocal number
        while line := text.readline(longest + 1):
            number += 1
            if len(line) > longest and line[-1] not in "\r\n":
                raise (too_many_columns(number, lim.columns) if line.count(",") + line.count("\t") >= lim.columns
                       else cell_too_long(number, lim.cell_chars))
            yield line

    try:
        source = lines()
        first = next(source, "")
        delimiter = "\t" if "\t" in first and "," not in first else ","
        try:
            yield from csv.reader(_chain(first, source), delimiter=delimiter)
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise cell_too_long(number, lim.cell_chars) from None
            raise
    finally:
        text.detach()  # the handle belongs to the caller


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _encoding(handle: IO[bytes]) -> str:
    """UTF-8 when every byte decodes as such (one streaming pass), else GB18030 (Chinese Excel's "CSV")."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"

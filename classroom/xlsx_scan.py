"""One expat pass over every XML part of an XLSX package, in constant memory, before openpyxl reads it.

openpyxl's read-only reader streams rows, but its parser keeps each element it has cleared as a
child of its parent (some 100 bytes a row), and keeps whole anything that is neither a row nor a
part it understands: a few MB of packed XML could make it hold gigabytes. So every part that looks
like XML is walked here first: rows, columns and cell lengths against the limits, the shared
strings, and everything else openpyxl would keep against a fixed budget. No DTD is accepted.
"""

from __future__ import annotations

from typing import IO
from xml.parsers import expat

from flask_babel import lazy_gettext as _l

from classroom.uploads import (
    CHUNK,
    LimitExceeded,
    Limits,
    MeteredZipFile,
    cell_too_long,
    number,
    too_many_columns,
    too_many_rows,
)

OTHER_ELEMENTS = 250_000  # styles, merged cells, validations …: all a workbook holds besides its cells
SHARED_STRINGS = 1_000_000  # distinct texts of a workbook (openpyxl keeps them all in memory)
ELEMENTS_PER_COLUMN = 20  # a cell's elements, rich-text runs included, per allowed column of a row
ELEMENTS_PER_CHAR = 10  # a shared text's elements (formatted runs) per allowed character
LONG_TEXT_FACTOR = 16  # a shared text this many times too long is refused at once, before any cell uses it
MAX_DEPTH = 64
XML_STARTS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b" ", b"\t", b"\r", b"\n")


def scan_package(archive: MeteredZipFile, lim: Limits) -> int:
    """Walk every part that may be XML; LimitExceeded at the first limit passed. The number of
    rows of the longest sheet."""
    scan = Scan(lim)
    # The shared strings first, so that a cell using a text too long is named by its row.
    for info in sorted(archive.infolist(), key=lambda info: "sharedstrings" not in info.filename.lower()):
        with archive.open(info) as part:
            head = part.read(4)
            if head.startswith(XML_STARTS):  # images and other binary parts are never parsed as XML
                scan.part(head, part)
    return scan.rows


class Scan:
    """The counts of one package; ``part`` walks one XML part with a new expat parser."""

    def __init__(self, lim: Limits) -> None:
        self.lim = lim
        self.rows = self.other = self.strings = 0
        self.long_strings: set[int] = set()  # indexes of shared texts longer than a cell may be
        self.row_cap = ELEMENTS_PER_COLUMN * lim.columns
        self.string_cap = ELEMENTS_PER_CHAR * lim.cell_chars + 10

    def part(self, head: bytes, stream: IO[bytes]) -> None:
        """Walk one XML part: ``head`` (its first bytes, already read), then the rest of ``stream``."""
        self.depth, self.kind, self.unit, self.elements = 0, "", 0, 0  # unit: depth of the open row or text
        self.row = self.rows_here = self.column = self.chars = 0
        self.counting = self.shared = False
        self.index = ""
        parser = expat.ParserCreate()
        parser.buffer_text, parser.buffer_size = True, CHUNK
        parser.StartElementHandler, parser.EndElementHandler = self.start, self.end
        parser.CharacterDataHandler = self.text
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _no_dtd
        parser.Parse(head, False)
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """expat: an element opens."""
        self.depth += 1
        local = name.rpartition(":")[2]
        if self.unit:
            self.elements += 1
            if local == "c":
                ref = attrs.get("r")
                self.column, self.chars = (_column(ref) if ref else self.column + 1), 0
                self.shared, self.index = bool(self.long_strings) and attrs.get("t") == "s", ""
            elif local in ("v", "t"):
                self.counting = True
            if self.kind == "worksheet" and self.elements > self.row_cap:
                raise too_many_columns(self.row, self.lim.columns)
            if self.kind == "sst" and self.elements > self.string_cap:
                raise cell_too_long(None, self.lim.cell_chars)
        elif self.depth == 3 and local == "row" and self.kind == "worksheet":
            self._open_row(attrs.get("r"))
        elif self.depth == 2 and local == "si" and self.kind == "sst":
            self._open_string()
        else:
            self._other(local)

    def _open_row(self, ref: str | None) -> None:
        self.unit, self.elements, self.column = self.depth, 0, 0
        self.row = int(ref) if ref else self.row + 1
        self.rows_here += 1
        if self.rows_here > self.lim.rows:  # the same row number written again and again counts too
            raise too_many_rows(self.lim.rows)

    def _open_string(self) -> None:
        self.unit, self.elements, self.chars = self.depth, 0, 0
        self.strings += 1
        if self.strings > SHARED_STRINGS:
            raise LimitExceeded(_l("The file holds more than %(limit)s different texts; split it into smaller "
                                   "files."), limit=number(SHARED_STRINGS))

    def _other(self, local: str) -> None:
        if self.depth == 1:
            self.kind = local
        if self.depth > MAX_DEPTH:
            raise ValueError("XML nested too deeply")
        self.other += 1
        if self.other > OTHER_ELEMENTS:
            raise LimitExceeded(_l("The file holds more than %(limit)s elements besides its cells; copy the data "
                                   "into a new workbook."), limit=number(OTHER_ELEMENTS))

    def text(self, data: str) -> None:
        """expat: character data."""
        if not self.counting:
            return
        self.chars += len(data)
        if self.shared:
            self.index += data
        if self.chars > self.lim.cell_chars:
            if self.kind == "worksheet":
                raise cell_too_long(self.row, self.lim.cell_chars)
            if self.chars > LONG_TEXT_FACTOR * self.lim.cell_chars:
                raise cell_too_long(None, self.lim.cell_chars)
            self.long_strings.add(self.strings - 1)

    def end(self, name: str) -> None:
        """expat: an element closes."""
        if self.unit and self.kind == "worksheet" and self.depth == self.unit + 1 and self.chars:
            self._close_cell()  # a cell with a value
        if self.depth == self.unit:
            self.unit = 0
        self.depth -= 1
        self.counting = False

    def _close_cell(self) -> None:
        if self.row > self.lim.rows:
            raise too_many_rows(self.lim.rows)
        if self.column > self.lim.columns:
            raise too_many_columns(self.row, self.lim.columns)
        if self.shared and int(self.index) in self.long_strings:
            raise cell_too_long(self.row, self.lim.cell_chars)
        self.rows = max(self.rows, self.row)
        self.chars = 0


def _column(ref: str) -> int:
    """The column number of a cell reference: "C7" → 3, "AB12" → 28 (past "ZZZ" means too wide)."""
    letters = ref.rstrip("0123456789").upper()
    if not letters or len(letters) > 3 or not letters.isalpha() or not letters.isascii():
        raise ValueError(f"bad cell reference {ref!r}")
    value = 0
    for letter in letters:
        value = value * 26 + ord(letter) - 64
    return value


def _no_dtd(*_args: object) -> None:
    raise ValueError("a DTD in a workbook part")

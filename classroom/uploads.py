"""Upload limits (issue 14): the settings, the refusals that name them, the size of a file, the
central directory of a zip package, and a meter on the bytes a package really inflates.

The sheets' readers build on this in ``classroom.spreadsheets``; lesson, competition and evidence
attachments check their DOCX/XLSX/PPTX packages with ``check_package``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal, cast
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError
from zlib import error as ZlibError

from flask import current_app, has_app_context
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

import config as settings
from classroom.domain import Invalid

CHUNK = 64 * 1024
RATIO_FLOOR = 1024 * 1024  # parts smaller than this unpacked may be compressed as tightly as they like
CD_BYTES_PER_ENTRY = 512  # a central directory larger than this per allowed part is refused unread
# What a damaged or hostile file raises while it is read; each reader turns these into its own message.
UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, IndexError, OSError, ValueError, TypeError,
              EOFError, RuntimeError, ExpatError, ParseError, ZlibError, csv.Error, struct.error)
Source = Path | bytes


class LimitExceeded(Invalid):
    """The file passes one of the upload limits: the message names it."""

    def __init__(self, message: object, **params: object) -> None:
        super().__init__(message, field="file", **params)


@dataclasses.dataclass(frozen=True)
class Limits:
    """The upload limits in force (settings UPLOAD_MAX_* and XLSX_MAX_*)."""

    max_bytes: int
    rows: int
    columns: int
    cell_chars: int
    entries: int
    unpacked: int
    ratio: int


def limits(*, rows: int | None = None) -> Limits:
    """The configured limits (the defaults outside an app); ``rows`` lowers the row limit for a reader
    with its own smaller one."""
    config = current_app.config if has_app_context() else vars(settings.Config)
    return Limits(max_bytes=config["UPLOAD_MAX_BYTES"], rows=min(config["UPLOAD_MAX_ROWS"], rows or 1 << 62),
                  columns=config["UPLOAD_MAX_COLUMNS"], cell_chars=config["UPLOAD_MAX_CELL_CHARS"],
                  entries=config["XLSX_MAX_ENTRIES"], unpacked=config["XLSX_MAX_UNCOMPRESSED_BYTES"],
                  ratio=config["XLSX_MAX_RATIO"])


def size_label(size: int) -> str:
    """A byte count for people: 512 B, 1.5 KB, 20 MB (binary multiples)."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} B"


def number(value: int) -> str:
    """A count as the reader writes numbers (200,000)."""
    return format_decimal(value) if has_app_context() else f"{value:,}"


# ---- refusals that name their limit -------------------------------------------------------------

def too_many_rows(limit: int) -> LimitExceeded:
    """More rows than allowed."""
    return LimitExceeded(_l("The file has more than %(limit)s rows; split it into smaller files."), limit=number(limit))


def too_many_columns(row: int, limit: int) -> LimitExceeded:
    """A row wider than allowed."""
    return LimitExceeded(_l("Row %(row)s has more than %(limit)s columns; remove the extra columns."),
                         row=number(row), limit=number(limit))


def cell_too_long(row: int | None, limit: int) -> LimitExceeded:
    """A cell longer than allowed (in ``row`` when it is known)."""
    if row is None:
        return LimitExceeded(_l("The file has a cell longer than %(limit)s characters; shorten it."),
                             limit=number(limit))
    return LimitExceeded(_l("Row %(row)s has a cell longer than %(limit)s characters; shorten it."),
                         row=number(row), limit=number(limit))


def unpacks_too_large(limit: int) -> LimitExceeded:
    """A package that inflates past the limit."""
    return LimitExceeded(_l("The file would unpack to more than %(limit)s; split it into smaller files."),
                         limit=size_label(limit))


# ---- the file as a whole -------------------------------------------------------------------------

@contextmanager
def opened(source: Source) -> Iterator[IO[bytes]]:
    """A binary, seekable handle on a path or on bytes already received."""
    if isinstance(source, bytes | bytearray):
        yield io.BytesIO(source)
    else:
        with open(source, "rb") as handle:
            yield handle


def check_size(handle: IO[bytes], limit: int) -> None:
    """LimitExceeded when the file (as uploaded, packed) is larger than ``limit`` bytes."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if size > limit:
        raise LimitExceeded(_l("The file is larger than the limit of %(limit)s."), limit=size_label(limit))


def _central_directory(handle: IO[bytes]) -> tuple[int, int]:
    """(parts, bytes) of the central directory as the end record declares them (zip64 too)."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - 22 - 0xFFFF))
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise zipfile.BadZipFile("no end of central directory")
    entries, cd_bytes = struct.unpack_from("<HI", tail, at + 10)
    if (entries == 0xFFFF or cd_bytes == 0xFFFFFFFF) and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        handle.seek(struct.unpack_from("<Q", tail, at - 12)[0])
        record = handle.read(56)
        if record[:4] != b"PK\x06\x06":
            raise zipfile.BadZipFile("no zip64 end of central directory")
        entries, cd_bytes = struct.unpack_from("<QQ", record, 32)
    return entries, cd_bytes


def check_package(handle: IO[bytes], lim: Limits) -> list[zipfile.ZipInfo]:
    """Refuse a zip package by its central directory alone: too many parts, a declared unpacked
    total beyond the limit, or a big part compressed beyond the ratio. Nothing is inflated."""
    entries, cd_bytes = _central_directory(handle)
    if entries > lim.entries or cd_bytes > lim.entries * CD_BYTES_PER_ENTRY:
        raise LimitExceeded(_l("The file holds more than %(limit)s parts; save it again as a plain file."),
                            limit=number(lim.entries))
    with zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
    if len(infos) > lim.entries:  # the end record may understate what the directory holds
        raise LimitExceeded(_l("The file holds more than %(limit)s parts; save it again as a plain file."),
                            limit=number(lim.entries))
    if sum(info.file_size for info in infos) > lim.unpacked:
        raise unpacks_too_large(lim.unpacked)
    if any(info.file_size > RATIO_FLOOR and info.file_size > lim.ratio * max(info.compress_size, 1)
           for info in infos):
        raise LimitExceeded(_l("The file is compressed more than %(limit)s to 1, as ordinary files never are."),
                            limit=number(lim.ratio))
    return infos


class Meter:
    """The bytes really inflated from a package (declared sizes can lie): LimitExceeded past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def take(self, count: int) -> None:
        """Count ``count`` more bytes inflated."""
        self.used += count
        if self.used > self.limit:
            raise unpacks_too_large(self.limit)


class MeteredStream:
    """A part opened for reading, every byte it yields counted by the meter."""

    def __init__(self, stream: IO[bytes], meter: Meter) -> None:
        self._stream, self._meter = stream, meter

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all with -1 or None), counted."""
        if size is None or size < 0:  # a whole part: in chunks, so the limit stops it on the way
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        data = self._stream.read(size)
        self._meter.take(len(data))
        return data

    def close(self) -> None:
        """Close the part."""
        self._stream.close()

    def __enter__(self) -> MeteredStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class MeteredZipFile(zipfile.ZipFile):
    """A zip package whose every part read goes through one meter (openpyxl reads it like any ZipFile)."""

    def __init__(self, handle: IO[bytes], meter: Meter) -> None:
        super().__init__(handle)
        self.meter = meter

    def open(self, name: str | zipfile.ZipInfo, mode: Literal["r", "w"] = "r", pwd: bytes | None = None, *,
             force_zip64: bool = False) -> IO[bytes]:
        """The part, metered when it is read."""
        stream = super().open(name, mode, pwd, force_zip64=force_zip64)
        # a reader of the part calls read() and close() only, which MeteredStream has
        return cast(IO[bytes], MeteredStream(stream, self.meter)) if mode == "r" else stream

"""Lesson attachments: files checked by name, size, extension and content, kept under random names.

A stored file is part of the database transaction that adds its row, so no caller has to clean
up after a failure:

* ``store_attachment`` first streams the upload into a temporary file in the upload folder (at
  most ``max_bytes + 1`` bytes, never more in memory than one chunk), checks it, flushes the row
  (so a database error comes before any file has its final name) and only then renames the
  temporary file into place with ``os.replace``. The new path is noted on the session; when the
  outermost transaction ends without a commit (rollback, error, or the session closed at the
  end of the request) the file is removed. A commit keeps it.
* ``delete_attachment`` (and any ORM delete of an ``Attachment``, e.g. through deleting its
  lesson or course) notes the file on the session and removes it only after the commit: a
  failed commit leaves both the row and its file.

A crash between the rename and the commit can still leave a file without a row (never a row
without a file); such files, and any ``.part-*`` left by a killed process, hold random names
that nothing links to.
"""

from __future__ import annotations

import logging
import os
import secrets
import struct
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from classroom import uploads
from classroom.domain import Invalid, NotAllowed
from classroom.extensions import db
from classroom.storage import key_of, storage
from classroom.uploads import size_label
from courses.catalog.models import Attachment, Lesson
from courses.catalog.permissions import can_edit

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200
CHUNK_SIZE = 64 * 1024
HEAD_SIZE = 16
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Bidirectional-text controls would let "invoice\u202Efdp.exe" display as "invoiceexe.pdf".
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, line breaks


# ---- what may be uploaded ----------------------------------------------------------------------

def _starts_with(*prefixes: bytes) -> Callable[[bytes, str], bool]:
    return lambda head, _path: head.startswith(prefixes)


def _is_webp(head: bytes, _path: str) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _is_mp4(head: bytes, _path: str) -> bool:
    return head[4:8] == b"ftyp"


def _office_zip(folder: str) -> Callable[[bytes, str], bool]:
    """An Office Open XML package: a real zip (from its first byte) with the part folder ``folder``,
    within the package limits (parts, declared unpacked size, compression ratio: LimitExceeded)."""

    def check(head: bytes, path: str) -> bool:
        if not head.startswith(ZIP_MAGIC):
            return False
        try:
            with open(path, "rb") as handle:  # the central directory only: nothing is inflated
                names = [info.filename for info in uploads.check_package(handle, uploads.limits())]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error):
            return False
        return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)

    return check


@dataclass(frozen=True)
class FileKind:
    content_type: str
    matches: Callable[[bytes, str], bool]  # (first bytes, path of the whole file) -> does the content fit?


KINDS: dict[str, FileKind] = {
    "pdf": FileKind("application/pdf", _starts_with(b"%PDF-")),
    "png": FileKind("image/png", _starts_with(b"\x89PNG\r\n\x1a\n")),
    "jpg": FileKind("image/jpeg", _starts_with(b"\xff\xd8\xff")),
    "jpeg": FileKind("image/jpeg", _starts_with(b"\xff\xd8\xff")),
    "gif": FileKind("image/gif", _starts_with(b"GIF87a", b"GIF89a")),
    "webp": FileKind("image/webp", _is_webp),
    "docx": FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _office_zip("word/")),
    "xlsx": FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _office_zip("xl/")),
    "pptx": FileKind("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                     _office_zip("ppt/")),
    "doc": FileKind("application/msword", _starts_with(OLE2_MAGIC)),
    "xls": FileKind("application/vnd.ms-excel", _starts_with(OLE2_MAGIC)),
    "ppt": FileKind("application/vnd.ms-powerpoint", _starts_with(OLE2_MAGIC)),
    "mp4": FileKind("video/mp4", _is_mp4),
}
ACCEPT = ",".join(f".{ext}" for ext in KINDS)  # for <input type="file" accept="…">


# ---- checks ------------------------------------------------------------------------------------

def clean_name(filename: str | None) -> str:
    """The name as it will be shown and offered for download, or Invalid."""
    name = unicodedata.normalize("NFC", filename or "").strip()
    if not name:
        raise Invalid(_l("The file has no name."), field="file")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(_l("The file name is longer than %(count)d characters."), field="file", count=MAX_NAME_LENGTH)
    if "/" in name or "\\" in name or name in (".", "..") or any(
            unicodedata.category(char) in FORBIDDEN_CATEGORIES or char in BIDI_CONTROLS for char in name):
        raise Invalid(_l("The file name may not contain “/”, “\\”, “..” or control characters."), field="file")
    return name


def extension_of(name: str) -> str:
    """The allowed, lower-case extension of ``name``, or Invalid."""
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if not dot or not stem or ext not in KINDS:
        raise Invalid(_l("Files of this type cannot be uploaded. Allowed: %(allowed)s."), field="file",
                      allowed=", ".join(ACCEPT.split(",")))
    return ext


def _copy_limited(source: bytes | bytearray | BinaryIO, target: BinaryIO, limit: int) -> int:
    """Copy at most ``limit`` bytes in chunks; the number copied."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source[:limit])
        target.write(data)
        return len(data)
    copied = 0
    while copied < limit:
        chunk = source.read(min(CHUNK_SIZE, limit - copied))
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


def _check_content(path: str, size: int, ext: str, max_bytes: int) -> None:
    if size == 0:
        raise Invalid(_l("The file is empty."), field="file")
    if size > max_bytes:
        raise Invalid(_l("The file is larger than the limit of %(limit)s."), field="file", limit=size_label(max_bytes))
    with open(path, "rb") as stored:
        head = stored.read(HEAD_SIZE)
    if not KINDS[ext].matches(head, path):
        raise Invalid(_l("The content of this file is not a .%(ext)s file. Was it renamed?"), field="file", ext=ext)


# ---- storing and deleting ----------------------------------------------------------------------

def attachment_path(attachment: Attachment, folder: str) -> str:
    return os.path.join(folder, attachment.stored_name)


@dataclass
class StoredFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    temp_path: str = ""


def receive_file(filename: str | None, stream_or_bytes, *, folder: str, max_bytes: int,
                 allowed: frozenset[str] | None = None) -> StoredFile:
    """Check an upload (name, size, extension, content) into a temporary file of ``folder``.
    The caller flushes the row that names it, then calls place_file (or discard_file)."""
    name = clean_name(filename)
    ext = extension_of(name)
    if allowed is not None and ext not in allowed:
        raise Invalid(_l("Files of this type cannot be uploaded. Allowed: %(allowed)s."), field="file",
                      allowed=", ".join(sorted(allowed)))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as temp:
            size = _copy_limited(stream_or_bytes, temp, max_bytes + 1)
        _check_content(temp_path, size, ext, max_bytes)
    except BaseException:
        discard_file(temp_path)
        raise
    return StoredFile(name, f"{secrets.token_hex(16)}.{ext}", KINDS[ext].content_type, size, temp_path)


def place_file(stored: StoredFile, folder: str) -> None:
    """Give a received file its final name; it is removed again unless the transaction commits."""
    final_path = os.path.join(folder, stored.stored_name)
    storage().put_file(key_of(final_path), stored.temp_path)  # local storage: a rename in the folder
    _written(db.session()).add(final_path)


def remove_after_commit(key: str, path: str) -> None:
    """Remove the file at ``path`` once the current transaction commits (never if it rolls back)."""
    _deleted(db.session())[key] = path


def discard_file(temp_path: str) -> None:
    if temp_path and os.path.exists(temp_path):
        os.remove(temp_path)


def store_attachment(lesson: Lesson, filename: str | None, stream_or_bytes, *, actor, now: datetime, folder: str,
                     max_bytes: int) -> Attachment:
    """Check an upload and keep it as a file of ``lesson``; the file lives or dies with the transaction.
    The row is flushed before the file takes its final name, so a database error comes first."""
    if not can_edit(actor, lesson.course):
        raise NotAllowed(_l("You may not change this course."))
    stored = receive_file(filename, stream_or_bytes, folder=folder, max_bytes=max_bytes)
    try:
        attachment = Attachment(lesson_id=lesson.id, original_name=stored.original_name,
                                stored_name=stored.stored_name, content_type=stored.content_type, size=stored.size,
                                uploaded_by_id=actor.id, uploaded_at=now)
        db.session.add(attachment)
        db.session.flush()
        place_file(stored, folder)
    finally:
        discard_file(stored.temp_path)
    return attachment


def delete_attachment(attachment: Attachment, *, actor, folder: str) -> None:
    """Delete the row now and the file once the transaction commits."""
    if not can_edit(actor, attachment.lesson.course):
        raise NotAllowed(_l("You may not change this course."))
    remove_after_commit(attachment.stored_name, attachment_path(attachment, folder))
    db.session.delete(attachment)
    db.session.flush()


# ---- files follow the transaction ----------------------------------------------------------------

_WRITTEN = "attachments.written"  # paths written in this transaction: removed unless it commits
_DELETED = "attachments.deleted"  # stored name -> path of deleted rows: removed once it commits


def _written(session: Session) -> set[str]:
    return session.info.setdefault(_WRITTEN, set())


def _deleted(session: Session) -> dict[str, str]:
    return session.info.setdefault(_DELETED, {})


def _remove_quietly(path: str) -> None:
    try:
        storage().delete(key_of(path))
    except OSError:  # a full or read-only disk must not turn a finished transaction into an error
        logger.exception("could not remove attachment file %s", path)


def _file_follows_row(_mapper, _connection, attachment: Attachment) -> None:
    """Rows deleted by a cascade (a lesson, a course) take their files along, after the commit."""
    session = object_session(attachment)
    if session is not None and has_app_context():
        _deleted(session).setdefault(attachment.stored_name,
                                     attachment_path(attachment, current_app.config["UPLOAD_FOLDER"]))


def _after_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_DELETED, {}).values():
        _remove_quietly(path)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit (else emptied above)
        for path in session.info.pop(_WRITTEN, ()):
            _remove_quietly(path)
        session.info.pop(_DELETED, None)


_LISTENERS = ((Attachment, "after_delete", _file_follows_row), (Session, "after_commit", _after_commit),
              (Session, "after_transaction_end", _after_transaction_end))


def listen() -> None:
    """Make stored files follow their transaction (catalog's init_app; once per process, for every session)."""
    for target, name, listener in _LISTENERS:
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)

"""Importing questions: every row checked and shown (preview), then all of it written in one
transaction or nothing; idempotent by question code (the same file again changes nothing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from classroom import uploads
from classroom.audit import record_event
from classroom.domain import Conflict, DomainError, Invalid, NotAllowed
from classroom.extensions import db
from classroom.uploads import UNREADABLE
from courses.drills import access, banks, content, question_file
from courses.drills.models import DrillImport, QuestionBank

FORMATS = {".xlsx": "xlsx", ".csv": "csv"}
HAS_ERRORS = _l("The file has errors: nothing was imported. Correct them and upload it again.")


def read_upload(storage: FileStorage) -> tuple[bytes, str]:
    """The upload's bytes and format, within the size limit; Invalid otherwise."""
    fmt = FORMATS.get(Path(storage.filename or "").suffix.lower())
    if fmt is None:
        raise Invalid(_l("Upload an XLSX or CSV file."), field="file")
    limit = uploads.limits().max_bytes
    data = storage.stream.read(limit + 1)
    if fmt == "xlsx" and data[:4] != b"PK\x03\x04":
        raise Invalid(_l("This file is not an XLSX workbook."), field="file")
    return data, fmt


def check_rows(bank: QuestionBank, rows: list[tuple[int, dict[str, str]]]) -> tuple[list[dict], list[dict], dict]:
    """(items, errors, counts): each row's content, every row's errors, and what a commit would do."""
    items: list[dict] = []
    errors: list[dict] = []
    first_row: dict[str, int] = {}
    for number, cells in rows:
        data = question_file.row_content(cells)
        row_errors = [{"row": number, "field": field, "code": code} for field, code in content.check(data)]
        code = data["code"]
        if code and code in first_row:
            row_errors.append({"row": number, "field": "code", "code": "code_duplicate", "other": first_row[code]})
        elif code:
            first_row[code] = number
        errors.extend(row_errors)
        items.append({"row": number, "data": data})
    existing = banks.current_versions(bank.id, [item["data"]["code"] for item in items]) if items else {}
    counts = {"create": 0, "update": 0, "unchanged": 0, "rows": len(items), "errors": len({e["row"] for e in errors})}
    failed = {error["row"] for error in errors}
    for item in items:
        if item["row"] not in failed:
            counts[banks.change_kind(existing.get(item["data"]["code"]), item["data"])] += 1
    return items, errors, counts


def stage_import(bank: QuestionBank, storage: FileStorage, *, actor: Any, now: datetime) -> DrillImport:
    """Read and check an uploaded file: the preview keeps its rows and errors (audited)."""
    if not access.can_edit(actor, bank):
        raise NotAllowed(_l("You may not change this bank."))
    data, fmt = read_upload(storage)
    try:
        rows = list(question_file.read_rows(data, fmt))
    except DomainError:  # a limit passed: its own message
        raise
    except UNREADABLE:
        raise Invalid(_l("This file cannot be read."), field="file") from None
    if not rows:
        raise Invalid(_l("The file has no questions."), field="file")
    items, errors, counts = check_rows(bank, rows)
    staged = DrillImport(bank_id=bank.id, created_by_id=actor.id, filename=(storage.filename or "")[-200:],
                         rows=items if not errors else [], errors=errors, counts=counts, created_at=now)
    db.session.add(staged)
    db.session.flush()
    record_event(actor, "drills.import_preview", staged, union_id=bank.union_id, rows=len(rows), errors=len(errors))
    return staged


def commit_import(staged: DrillImport, bank: QuestionBank, *, actor: Any, now: datetime) -> dict:
    """Write every row of a clean preview, in this one transaction; Conflict when it has errors or was
    committed already. Rows are planned again against the bank as it is now."""
    if not access.can_edit(actor, bank):
        raise NotAllowed(_l("You may not change this bank."))
    locked = db.session.scalar(select(DrillImport).where(DrillImport.id == staged.id).with_for_update())
    staged = cast(DrillImport, locked)
    if staged.errors:
        raise Conflict(HAS_ERRORS)
    if staged.committed_at is not None:
        raise Conflict(_l("This file was imported already."))
    existing = banks.current_versions(bank.id, [item["data"]["code"] for item in staged.rows])
    counts = {"create": 0, "update": 0, "unchanged": 0}
    changes = [(item["data"], existing.get(item["data"]["code"])) for item in staged.rows]
    for data, found in changes:
        counts[banks.change_kind(found, data)] += 1
    banks.apply(bank, changes, now=now)
    staged.committed_at = now
    staged.rows = []  # the questions are in the bank now
    record_event(actor, "drills.import_commit", staged, union_id=bank.union_id, created=counts["create"],
                 updated=counts["update"], unchanged=counts["unchanged"])
    return counts


def error_messages(staged: DrillImport) -> list[tuple[int, str, str]]:
    """(row, column, message) for the preview."""
    return [(error["row"], error["field"], content.message(error["code"], error.get("other")))
            for error in staged.errors]


def export_rows(bank: QuestionBank) -> list[list[Any]]:
    found = banks.current_versions(bank.id)
    return [question_file.export_row(question, version) for _code, (question, version) in sorted(found.items())]

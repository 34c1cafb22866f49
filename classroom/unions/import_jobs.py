"""Import jobs, the rows: staging an upload, the admin's commit and retry, the errors and links a job keeps.

Uploads are checked in UPLOAD_FOLDER/imports/ and kept in the storage (classroom/storage.py) under
"imports/<name>", where a queue worker on any host reads them. These functions change a job inside the caller's
transaction (a page's ``perform``, or a run in jobs.py, which owns its transactions).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Select, select, update
from werkzeug.datastructures import FileStorage

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, DomainError, Invalid
from classroom.extensions import db
from classroom.personal_data import decrypt
from classroom.storage import storage as kept_files
from classroom.unions.import_files import check_content, count_rows, file_format
from classroom.unions.import_models import ImportJob, ImportStatus
from classroom.unions.invitations import invitation_link
from classroom.unions.member_import import RowError
from classroom.unions.models import TradeUnion
from classroom.uploads import UNREADABLE

MAX_STORED_ERRORS = 10_000
UNREADABLE_FILE = _l("The file cannot be read.")
NOT_WAITING = _l("This import is not waiting for a commit.")
CANNOT_RUN_AGAIN = _l("This import cannot run again: upload the file anew.")


def imports_folder() -> Path:
    """Where an upload is checked before it is stored (outside static/)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staged_key(job: ImportJob) -> str | None:
    """The storage key of the job's uploaded file (None once it is released)."""
    return f"imports/{job.stored_name}" if job.stored_name else None


def stage_upload(storage: FileStorage, *, union: TradeUnion, actor: Any, send_sms: bool, now: datetime) -> ImportJob:
    """Save the upload outside static/, check it against every upload limit (a bad file is refused
    here, before any job exists), and open a job for it (audited)."""
    fmt = file_format(storage.filename or "")
    stored = f"{secrets.token_hex(16)}.{fmt}"
    path = imports_folder() / stored
    storage.save(path)
    try:
        check_content(path, fmt)
        total = count_rows(path, fmt)
    except DomainError:
        path.unlink(missing_ok=True)
        raise
    except UNREADABLE:
        path.unlink(missing_ok=True)
        raise Invalid(UNREADABLE_FILE, field="file") from None
    kept_files().put_file(f"imports/{stored}", path)  # (local storage: where it already is)
    begin_write(db.session)
    job = ImportJob(union_id=union.id, created_by_id=actor.id, filename=(storage.filename or "")[-200:],
                    stored_name=stored, file_format=fmt, total=total, send_sms=send_sms, created_at=now)
    db.session.add(job)
    db.session.flush()
    record_event(actor, "member_import.upload", job, union_id=union.id, rows=total)
    return job


def claim_commit(job: ImportJob) -> None:
    """The admin's go-ahead: a previewed job (ready) becomes running, once; Conflict otherwise."""
    begin_write(db.session)
    claimed = cast(CursorResult[Any], db.session.execute(
        update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == ImportStatus.READY)
        .values(status=ImportStatus.RUNNING).execution_options(synchronize_session=False))).rowcount
    if not claimed:
        raise Conflict(NOT_WAITING)


def claim_retry(job: ImportJob, *, actor: Any, running_here: bool) -> str:
    """Run an interrupted or failed job again from its staged file (audited): returns what to run,
    "commit" or "validate"; Invalid when its file is gone or a run of this process still works on it."""
    if job.stored_name is None or (job.is_busy and running_here):
        raise Invalid(CANNOT_RUN_AGAIN)
    action = "commit" if job.started_at else "validate"  # only a commit sets started_at
    begin_write(db.session)
    record_event(actor, "member_import.retry", job, union_id=job.union_id)
    job.status = ImportStatus.RUNNING if action == "commit" else ImportStatus.VALIDATING
    return action


def store_errors(job: ImportJob, errors: list[RowError], *, total: int, now: datetime) -> str | None:
    """The rows' errors on the job; returns its file, of no more use (remove it after the commit)."""
    job.status, job.total, job.finished_at = ImportStatus.INVALID, total, now
    job.error_count = len({error.row for error in errors})
    job.errors = [[e.row, e.field, e.code, e.other_row] for e in errors[:MAX_STORED_ERRORS]]
    return release_file(job)


def release_file(job: ImportJob) -> str | None:
    """Detach the staged file from the job (the caller removes it once the change commits)."""
    key = staged_key(job)
    job.stored_name = None
    return key


def remove_file(key: str | None) -> None:
    """Delete a released staged file (after the change that released it has committed)."""
    if key is not None:
        kept_files().delete(key)


# ---- what the pages show ----------------------------------------------------------------

JOB_ORDER = (ImportJob.created_at, ImportJob.id)  # newest first: keyset on ix_import_job_union_created


def job_key(job: ImportJob) -> tuple:
    """The sort key of an import job in its union's list (its cursor)."""
    return job.created_at, job.id


def jobs_of(union: TradeUnion) -> Select:
    """SELECT of the union's import jobs, newest first."""
    return select(ImportJob).where(ImportJob.union_id == union.id).order_by(ImportJob.created_at.desc(),
                                                                            ImportJob.id.desc())


def row_errors(job: ImportJob) -> list[RowError]:
    """The errors the preview found, row by row."""
    return [RowError(*item) for item in job.errors or []]


def invitation_tokens(job: ImportJob, *, now: datetime) -> list[tuple[int, str]]:
    """The links to hand out, (user id, token) by user id, while they can still be used."""
    days = current_app.config["INVITATION_DAYS"]
    if not job.links_encrypted or (job.finished_at and now - job.finished_at > timedelta(days=days)):
        return []
    return sorted((int(user_id), token) for user_id, token in json.loads(decrypt(job.links_encrypted)).items())


def invitation_links(tokens: list[tuple[int, str]]) -> list[tuple[User, str]]:
    """(person, link) for each (user id, token), by user id, a thousand people per query."""
    links: list[tuple[User, str]] = []
    for start in range(0, len(tokens), 1000):
        chunk = dict(tokens[start:start + 1000])
        people = db.session.scalars(select(User).where(User.id.in_(list(chunk))).order_by(User.id))
        links += [(person, invitation_link(chunk[person.id])) for person in people]
    return links


def forget_links(job: ImportJob, *, actor: Any) -> None:
    """Stop keeping the job's invitation links (audited); the links themselves still work."""
    begin_write(db.session)
    job.links_encrypted = None
    record_event(actor, "member_import.forget_links", job, union_id=job.union_id)

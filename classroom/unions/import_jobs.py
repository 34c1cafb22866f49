"""Import jobs: stage the upload, preview it, commit it; inline for small files, in a
background thread of the web process for large ones, with progress the page can poll.

Uploads are staged under UPLOAD_FOLDER/imports/. The data of a commit is written in one
transaction, which also marks the job done: a process killed half-way leaves nothing written
(the job then shows as interrupted, and can run again).
Progress goes to memory and, on PostgreSQL, to the job row through a separate short transaction.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write, is_postgresql, utcnow
from classroom.domain import DomainError, Invalid
from classroom.extensions import db
from classroom.personal_data import decrypt, encrypt
from classroom.unions.import_commit import run_import, welcome
from classroom.unions.import_files import check_content, count_rows, file_format, read_rows
from classroom.unions.import_models import ImportJob, ImportStatus
from classroom.unions.member_import import ImportRejected, RowError, validate
from classroom.uploads import UNREADABLE

logger = logging.getLogger(__name__)
MAX_STORED_ERRORS = 10_000
STALE_AFTER = timedelta(minutes=2)
INTERRUPTED = _l("The import was interrupted; nothing was written. Run it again.")
UNEXPECTED = _l("The import stopped on an unexpected error; nothing was written. Run it again.")
UNREADABLE_FILE = _l("The file cannot be read.")

_live: dict[int, tuple[str, int, int]] = {}  # job id → (phase, processed, total), this process only
_threads: dict[int, threading.Thread] = {}


def imports_folder() -> Path:
    """Staged files live beside the other uploads (outside static/, on storage every web process
    shares: the commit may reach another process than the upload did)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staged_path(job: ImportJob) -> Path | None:
    return imports_folder() / job.stored_name if job.stored_name else None


def stage_upload(storage, *, union, actor, send_sms: bool, now: datetime) -> ImportJob:
    """Save the upload outside static/, check it against every upload limit (a bad file is refused
    here, before any job exists), and open a job for it (audited)."""
    fmt = file_format(storage.filename)
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
    begin_write(db.session)
    job = ImportJob(union_id=union.id, created_by_id=actor.id, filename=(storage.filename or "")[-200:],
                    stored_name=stored, file_format=fmt, total=total, send_sms=send_sms, created_at=now)
    db.session.add(job)
    db.session.flush()
    record_event(actor, "member_import.upload", job, union_id=union.id, rows=total)
    return job


def start(app, job: ImportJob, action: str) -> None:
    """Run ``action`` ("validate" or "commit") now, or in a background thread for a large file."""
    job_id = job.id
    if job.total <= app.config["IMPORT_BACKGROUND_ROWS"]:
        _run(job_id, action)
        return
    thread = threading.Thread(target=_in_thread, args=(app, job_id, action), name=f"member-import-{job_id}",
                              daemon=True)
    _threads[job_id] = thread
    thread.start()


def _in_thread(app, job_id: int, action: str) -> None:
    with app.app_context():
        try:
            _run(job_id, action)
        finally:
            db.session.remove()
            _threads.pop(job_id, None)


def _run(job_id: int, action: str) -> None:
    """Run the job; an unexpected error fails it (its transaction rolled back: nothing written)."""
    try:
        RUNNERS[action](job_id)
    except Exception:
        logger.exception("member import %s failed", job_id)
        db.session.rollback()
        _finish(job_id, ImportStatus.FAILED, message=str(UNEXPECTED))
    finally:
        _live.pop(job_id, None)


def wait_for(job_id: int, timeout: float = 60) -> None:
    """Block until the job's background thread (if any, in this process) has ended."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)


class JobProgress:
    """Progress callback: memory always; the job row on PostgreSQL (twice a second at most)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.to_database = is_postgresql(db.session)
        self.written_at = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        _live[self.job_id] = (phase, done, total)
        if self.to_database and time.monotonic() - self.written_at >= 0.5:
            self.written_at = time.monotonic()
            with db.engine.begin() as connection:
                connection.execute(update(ImportJob.__table__).where(ImportJob.__table__.c.id == self.job_id)
                                   .values(phase=phase, processed=done, total=total, heartbeat_at=utcnow()))


def validate_job(job_id: int) -> None:
    """The preview: every row checked, nothing written."""
    job = db.session.get(ImportJob, job_id)
    rows = _read_or_fail(job)
    if rows is None:
        return
    plan = validate(rows, job.union, now=utcnow(), progress=JobProgress(job_id))
    begin_write(db.session)
    job = db.session.get(ImportJob, job_id)
    if plan.errors:
        staged = _store_errors(job, plan.errors, total=plan.total)
        db.session.commit()
        _remove(staged)
        return
    job.status, job.total, job.processed = ImportStatus.READY, plan.total, plan.total
    job.created_count, job.updated_count = plan.count("create"), plan.count("update")
    job.unchanged_count, job.invited_count = plan.count("unchanged"), sum(a.invite for a in plan.actions)
    db.session.commit()


def commit_job(job_id: int) -> None:
    """Write the whole file in one transaction; the job is marked done in that same transaction."""
    begin_write(db.session)
    job = db.session.get(ImportJob, job_id)
    job.status, job.phase, job.processed, job.started_at = ImportStatus.RUNNING, "validating", 0, utcnow()
    job.heartbeat_at, job.message = job.started_at, None
    db.session.commit()
    rows = _read_or_fail(job)
    if rows is None:
        return
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    try:
        result = run_import(rows, job.union, actor=actor, now=utcnow(), job_id=job_id, progress=JobProgress(job_id))
    except ImportRejected as rejected:
        db.session.rollback()
        begin_write(db.session)
        staged = _store_errors(db.session.get(ImportJob, job_id), rejected.errors, total=len(rows))
        db.session.commit()
        _remove(staged)
        return
    except DomainError as error:
        db.session.rollback()
        _finish(job_id, ImportStatus.FAILED, message=str(error))
        return
    job = db.session.get(ImportJob, job_id)
    job.status, job.phase, job.processed, job.total = ImportStatus.DONE, "writing", result.total, result.total
    job.created_count, job.updated_count, job.unchanged_count = result.created, result.updated, result.unchanged
    job.invited_count, job.seconds, job.finished_at = result.invited, result.seconds, utcnow()
    job.links_encrypted = encrypt(json.dumps(result.tokens)) if result.tokens else None
    union_name, text_links, staged = job.union.name, job.send_sms, _release_file(job)
    db.session.commit()
    _remove(staged)
    welcome(result.tokens, union_name, text_links=text_links, now=utcnow())


RUNNERS = {"validate": validate_job, "commit": commit_job}


def _read_or_fail(job: ImportJob) -> list | None:
    """The staged file's rows; a file past a limit (or unreadable) fails the job with the reason."""
    try:
        return read_rows(staged_path(job), job.file_format)
    except DomainError as error:
        message = str(error)
    except UNREADABLE:
        message = str(UNREADABLE_FILE)
    db.session.rollback()
    _finish(job.id, ImportStatus.FAILED, message=message)
    return None


def _store_errors(job: ImportJob, errors: list[RowError], *, total: int) -> Path | None:
    """The rows' errors on the job; returns its file, of no more use (remove it after the commit)."""
    job.status, job.total, job.finished_at = ImportStatus.INVALID, total, utcnow()
    job.error_count = len({error.row for error in errors})
    job.errors = [[e.row, e.field, e.code, e.other_row] for e in errors[:MAX_STORED_ERRORS]]
    return _release_file(job)


def _finish(job_id: int, status: str, *, message: str) -> None:
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                       .values(status=status, message=message[:500], finished_at=utcnow()))
    db.session.commit()


def _release_file(job: ImportJob) -> Path | None:
    """Detach the staged file from the job (the caller removes it once the change commits)."""
    path = staged_path(job)
    job.stored_name = None
    return path


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


# ---- what the pages show ----------------------------------------------------------------

def is_interrupted(job: ImportJob, now: datetime) -> bool:
    """Busy in the database, but nobody works on it: its process died (kill -9, a restart)."""
    seen = job.heartbeat_at or job.started_at or job.created_at
    return job.is_busy and job.id not in _threads and now - seen > STALE_AFTER


def progress_of(job: ImportJob, *, now: datetime) -> dict:
    phase, processed, total = _live.get(job.id, (job.phase, job.processed, job.total))
    interrupted = is_interrupted(job, now)
    status = ImportStatus.FAILED if interrupted else job.status
    share = processed / total if total else 1.0
    if job.status == ImportStatus.RUNNING:
        share = (share + (1 if phase == "writing" else 0)) / 2
    return {"status": status, "label": str(job.status_label), "phase": phase, "processed": processed,
            "total": total, "percent": round(100 * (1.0 if status == ImportStatus.DONE else share)),
            "busy": job.is_busy and not interrupted}


def row_errors(job: ImportJob) -> list[RowError]:
    return [RowError(*item) for item in job.errors or []]


def invitation_tokens(job: ImportJob, *, now: datetime) -> list[tuple[int, str]]:
    """The links to hand out, (user id, token) by user id, while they can still be used."""
    days = current_app.config["INVITATION_DAYS"]
    if not job.links_encrypted or (job.finished_at and now - job.finished_at > timedelta(days=days)):
        return []
    return sorted((int(user_id), token) for user_id, token in json.loads(decrypt(job.links_encrypted)).items())


def forget_links(job: ImportJob, *, actor) -> None:
    begin_write(db.session)
    job.links_encrypted = None
    record_event(actor, "member_import.forget_links", job, union_id=job.union_id)


def retry(app, job: ImportJob, *, actor) -> None:
    """Run an interrupted or failed job again from its staged file (audited)."""
    if job.stored_name is None or (job.is_busy and job.id in _threads):
        raise Invalid(_l("This import cannot run again: upload the file anew."))
    action = "commit" if job.started_at else "validate"  # only a commit sets started_at
    begin_write(db.session)
    record_event(actor, "member_import.retry", job, union_id=job.union_id)
    job.status = ImportStatus.RUNNING if action == "commit" else ImportStatus.VALIDATING
    db.session.commit()
    start(app, job, action)

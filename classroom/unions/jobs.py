"""The unions' background work, each owning its transactions: member-import runs (tasks of the job queue:
on an RQ worker, or inline when the queue is eager), the welcome after an import, and the scheduled fold
of the member counters.

The data of an import's commit is written in one transaction, which also marks the job done: a process
killed half-way leaves nothing written (the queue retries the task; the page shows it as interrupted
once its heartbeat is stale, and an admin can run it again). A run that finds its job no longer waiting
(a retry of a run that did commit, or a second run beside the first) does nothing: the first statement
of the import's transaction locks the job's row and reads its status again.
Progress goes to memory and, on PostgreSQL, to the job row through a separate short transaction, so the
page of any process or host reads it.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text, update

from classroom import queue, sms
from classroom.accounts.models import User
from classroom.database import begin_write, is_postgresql, utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.notifications.services import notify_many
from classroom.personal_data import encrypt
from classroom.storage import storage
from classroom.unions import counters, history
from classroom.unions.import_commit import WELCOME, ImportResult, run_import
from classroom.unions.import_files import read_rows
from classroom.unions.import_jobs import UNREADABLE_FILE, release_file, remove_file, staged_key, store_errors
from classroom.unions.import_models import ImportJob, ImportStatus
from classroom.unions.invitations import invitation_link
from classroom.unions.member_import import CHUNK, ImportRejected, validate
from classroom.uploads import UNREADABLE

logger = logging.getLogger(__name__)
UNEXPECTED = _l("The import stopped on an unexpected error; nothing was written. Run it again.")
INVITATION_SMS = _l("[Worker Classroom] %(union)s has registered you. Set your password here: %(link)s")
IMPORT_LOCK = 18_001  # the advisory locks' first key for member-import commits (the second: the job's id)
TASKS = {"validate": "member_import.validate", "commit": "member_import.commit"}

_live: dict[int, tuple[str, int, int]] = {}  # job id → (phase, processed, total), this process only


def start(job: ImportJob, action: str) -> None:
    """Queue ``action`` ("validate" or "commit") for the job (eager queue: run it now)."""
    queue.enqueue(TASKS[action], job.id)


def run_task(action: str) -> Any:
    """The queue's task for ``action``: runs the job. An unexpected error rolls its transaction back
    (nothing written) and is raised again for the queue to retry; the job shows as failed once no retry
    is left (or at once when the queue is eager)."""

    def task(job_id: int) -> None:
        try:
            RUNNERS[action](job_id)
        except Exception:
            logger.exception("member import %s failed", job_id)
            db.session.rollback()
            if queue.is_last_attempt():
                _finish(job_id, ImportStatus.FAILED, message=str(UNEXPECTED))
            if not queue.is_eager():
                raise
        finally:
            _live.pop(job_id, None)

    return task


def wait_for(job_id: int, timeout: float = 60) -> None:
    """Block until the job is no longer busy in the database (a queue worker's run), or the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if not db.session.get_one(ImportJob, job_id, populate_existing=True).is_busy:
            return
        time.sleep(0.2)


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
                connection.execute(update(ImportJob).where(ImportJob.id == self.job_id)
                                   .values(phase=phase, processed=done, total=total, heartbeat_at=utcnow()))


def validate_job(job_id: int) -> None:
    """The preview: every row checked, nothing written."""
    job = db.session.get_one(ImportJob, job_id)
    if job.status != ImportStatus.VALIDATING:  # validated already (a retry after the run's end)
        return
    rows = _read_or_fail(job)
    if rows is None:
        return
    plan = validate(rows, job.union, now=utcnow(), progress=JobProgress(job_id))
    begin_write(db.session)
    job = db.session.get_one(ImportJob, job_id)
    if plan.errors:
        staged = store_errors(job, plan.errors, total=plan.total, now=utcnow())
        db.session.commit()
        remove_file(staged)
        return
    job.status, job.total, job.processed = ImportStatus.READY, plan.total, plan.total
    job.created_count, job.updated_count = plan.count("create"), plan.count("update")
    job.unchanged_count, job.invited_count = plan.count("unchanged"), sum(a.invite for a in plan.actions)
    db.session.commit()


def commit_job(job_id: int) -> None:
    """Write the whole file in one transaction; the job is marked done in that same transaction."""
    begin_write(db.session)
    job = db.session.get_one(ImportJob, job_id)
    if job.status != ImportStatus.RUNNING:  # committed already, or given up: nothing to do
        db.session.rollback()
        return
    job.phase, job.processed, job.started_at = "validating", 0, utcnow()
    job.heartbeat_at, job.message = job.started_at, None
    db.session.commit()
    rows = _read_or_fail(job)
    if rows is None:
        return
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if not _still_waiting(job_id):  # another run committed it meanwhile (we waited for its lock)
        db.session.rollback()
        return
    try:
        result = run_import(rows, job.union, actor=actor, now=utcnow(), job_id=job_id, progress=JobProgress(job_id))
    except ImportRejected as rejected:
        db.session.rollback()
        begin_write(db.session)
        staged = store_errors(db.session.get_one(ImportJob, job_id), rejected.errors, total=len(rows), now=utcnow())
        db.session.commit()
        remove_file(staged)
        return
    except DomainError as error:
        db.session.rollback()
        _finish(job_id, ImportStatus.FAILED, message=str(error))
        return
    _mark_done(db.session.get_one(ImportJob, job_id), result)


def _still_waiting(job_id: int) -> bool:
    """Begin the import's transaction with the job's lock (PostgreSQL: an advisory transaction lock, not
    the row's, which the progress writes from another connection update; SQLite: the write lock), and say
    whether the job still waits for this commit. A second run blocks here until the first one ends."""
    begin_write(db.session)
    if is_postgresql(db.session):
        db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :job)"), {"space": IMPORT_LOCK, "job": job_id})
    status = db.session.scalar(select(ImportJob.status).where(ImportJob.id == job_id))
    return status == ImportStatus.RUNNING


def running_here(job_id: int) -> bool:
    """Whether a run in this process works on the job now."""
    return job_id in _live


def _mark_done(job: ImportJob, result: ImportResult) -> None:
    """The job done with the import's figures and links, in the import's own transaction; then the welcome."""
    job.status, job.phase, job.processed, job.total = ImportStatus.DONE, "writing", result.total, result.total
    job.created_count, job.updated_count, job.unchanged_count = result.created, result.updated, result.unchanged
    job.invited_count, job.seconds, job.finished_at = result.invited, result.seconds, utcnow()
    job.links_encrypted = encrypt(json.dumps(result.tokens)) if result.tokens else None
    union_name, text_links, staged = job.union.name, job.send_sms, release_file(job)
    db.session.commit()
    remove_file(staged)
    welcome(result.tokens, union_name, text_links=text_links, now=utcnow())


RUNNERS = {"validate": validate_job, "commit": commit_job}


def _read_or_fail(job: ImportJob) -> list | None:
    """The staged file's rows; a file past a limit (or unreadable, or gone) fails the job with the reason."""
    key = staged_key(job)
    try:
        if key is not None:
            with storage().local_copy(key) as path:  # (S3: a copy on this host's disk while it is read)
                return read_rows(path, job.file_format)
        message = str(UNREADABLE_FILE)
    except DomainError as error:
        message = str(error)
    except UNREADABLE:
        message = str(UNREADABLE_FILE)
    db.session.rollback()
    _finish(job.id, ImportStatus.FAILED, message=message)
    return None


def _finish(job_id: int, status: str, *, message: str) -> None:
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                       .values(status=status, message=message[:500], finished_at=utcnow()))
    db.session.commit()


def is_interrupted(job: ImportJob, now: datetime) -> bool:
    """Busy in the database, but nobody works on it: its process died (kill -9, a restart) and its
    heartbeat stopped (a long run on PostgreSQL beats twice a second)."""
    seen = job.heartbeat_at or job.started_at or job.created_at
    stale = timedelta(seconds=current_app.config["IMPORT_STALE_SECONDS"])
    return job.is_busy and job.id not in _live and now - seen > stale


def progress_of(job: ImportJob, *, now: datetime) -> dict[str, Any]:
    """What the job's page and its progress poll show: status, phase, rows done, percent, busy."""
    phase, processed, total = _live.get(job.id) or (job.phase, job.processed, job.total)
    interrupted = is_interrupted(job, now)
    status = ImportStatus.FAILED if interrupted else job.status
    share = processed / total if total else 1.0
    if job.status == ImportStatus.RUNNING:
        share = (share + (1 if phase == "writing" else 0)) / 2
    return {"status": status, "label": str(job.status_label), "phase": phase, "processed": processed,
            "total": total, "percent": round(100 * (1.0 if status == ImportStatus.DONE else share)),
            "busy": job.is_busy and not interrupted}


def welcome(tokens: dict[int, str], union_name: str, *, text_links: bool, now: datetime) -> None:
    """After the commit: an in-app welcome for each invited person (seen once they have set their
    password) and, if asked, their link by text message. Both are best effort, chunk by chunk,
    outside the import's transaction (the link never goes into the outbox, which keeps bodies)."""
    ids = list(tokens)
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        template = str(INVITATION_SMS)
    for start_at in range(0, len(ids), CHUNK):
        chunk = ids[start_at:start_at + CHUNK]
        begin_write(db.session)
        notify_many([SimpleNamespace(id=user_id, locale=locale) for user_id in chunk], WELCOME.name,
                    WELCOME.name, _l("Your union has registered you on Worker Classroom"),
                    _l("Welcome! Browse the courses open to you and keep track of your training hours."),
                    link="/me", facts={"union": union_name}, now=now)
        db.session.commit()
        if text_links:
            mobiles = db.session.execute(select(User.id, User.mobile).where(
                User.id.in_(chunk), User.mobile.is_not(None))).all()
            for user_id, mobile in mobiles:
                link = invitation_link(tokens[user_id])
                sms.send_sms(cast(str, mobile), template % {"union": union_name, "link": link})


def fold(*, now: datetime) -> dict[str, int]:
    """Fold the member counters' appended deltas into the counts, and the members' changes into their months
    (a scheduled job, every minute)."""
    folded = counters.fold()
    months = history.fold()
    db.session.commit()
    return {"folded": folded, "member_months": months}

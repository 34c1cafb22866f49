"""The ledger listens to the course features; each credit runs inside the change's transaction."""

from __future__ import annotations

from sqlalchemy import select

from classroom.extensions import db
from courses.attendance.hooks import attendance_recorded
from courses.attendance.models import ATTENDED, Attendance
from courses.catalog.hooks import course_changed
from courses.catalog.models import ClassSession
from courses.catalog.revisions import Held
from courses.hours.services import credit_lesson, reverse_session_credits, sync_session_credit
from courses.study.hooks import lesson_completed


def _credit_lesson(lesson, *, user_id: int, now, **_) -> None:
    credit_lesson(lesson, user_id, now=now)


def _credit_session(attendance, *, session, attended: bool, change: int, now, **_) -> None:
    sync_session_credit(session, attendance.user_id, attended=attended, change=change, now=now)


def _follow_schedule_changes(course, *, revision, now, **_) -> None:
    """An approved change to a class session's credited minutes re-credits its attendees to the
    new minutes; a removed session's credits are reversed. (Lesson credits stay: they were earned
    by studying under the rule of their day.)"""
    held = Held.load(revision.changes)
    suffix = f"r{revision.id}"
    for session_id in held.session_deletes:
        reverse_session_credits(session_id, key_suffix=suffix, now=now)
    changed = [session_id for session_id, update in held.session_updates.items() if "credit_minutes" in update]
    if not changed:
        return
    rows = db.session.execute(
        select(Attendance, ClassSession).join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(Attendance.session_id.in_(changed))).all()
    for attendance, session in rows:
        sync_session_credit(session, attendance.user_id, attended=attendance.status in ATTENDED,
                            change=f"{attendance.changes}.{suffix}", now=now)


def connect() -> None:
    """The ledger follows completed lessons, recorded attendance and approved schedule changes."""
    lesson_completed.connect(_credit_lesson)
    attendance_recorded.connect(_credit_session)
    course_changed.connect(_follow_schedule_changes)

"""The ledger listens to the course features; each credit runs inside the change's transaction."""

from __future__ import annotations

from courses.attendance.hooks import attendance_recorded
from courses.hours.services import credit_lesson, sync_session_credit
from courses.study.hooks import lesson_completed


@lesson_completed.connect
def _credit_lesson(lesson, *, user_id: int, now, **_) -> None:
    credit_lesson(lesson, user_id, now=now)


@attendance_recorded.connect
def _credit_session(attendance, *, session, attended: bool, change: int, now, **_) -> None:
    sync_session_credit(session, attendance.user_id, attended=attended, change=change, now=now)

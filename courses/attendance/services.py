"""Attendance: one row per person and session, changed under a row lock, audited; every change
emits ``attendance_recorded`` inside the same transaction (the hours ledger and the completion
rule subscribe)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write, dialect_insert
from classroom.domain import Invalid, NotAllowed
from classroom.extensions import db
from courses.attendance.hooks import attendance_recorded
from courses.attendance.models import ATTENDED, Attendance, AttendanceStatus
from courses.catalog.models import ClassSession
from courses.catalog.permissions import can_edit, can_review
from courses.enrollment.models import Enrollment, EnrollmentStatus

ON_ROSTER = (EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED)


ROSTER_ORDER = (User.real_name, User.id)  # a class's roster by name (keyset)


def roster_statement(session: ClassSession):
    """SELECT (User, Attendance or None) of the people enrolled in the session's course, by name."""
    return (select(User, Attendance).join(Enrollment, Enrollment.user_id == User.id)
            .outerjoin(Attendance, (Attendance.user_id == User.id) & (Attendance.session_id == session.id))
            .where(Enrollment.course_id == session.course_id, Enrollment.status.in_(ON_ROSTER))
            .order_by(*ROSTER_ORDER))


def roster_key(row) -> tuple:
    """The sort key of a roster row (its cursor)."""
    return row[0].real_name, row[0].id


def roster_rows(session: ClassSession) -> list[tuple[User, Attendance | None]]:
    """The session's roster: (person, their attendance or None), by name."""
    return [(person, row) for person, row in db.session.execute(roster_statement(session))]


def is_on_roster(session: ClassSession, user_id: int) -> bool:
    return db.session.scalar(select(Enrollment.id).where(
        Enrollment.course_id == session.course_id, Enrollment.user_id == user_id,
        Enrollment.status.in_(ON_ROSTER))) is not None


def can_view_roster(user, session: ClassSession) -> bool:
    return can_edit(user, session.course) or can_review(user, session.course)


def can_edit_roster(user, session: ClassSession, now: datetime) -> bool:
    """Instructors until ROSTER_EDIT_DAYS after the session; the scope's admins at any time."""
    if can_review(user, session.course):
        return True
    deadline = session.ends_at + timedelta(days=current_app.config["ROSTER_EDIT_DAYS"])
    return can_edit(user, session.course) and now <= deadline


def record(session: ClassSession, user_id: int, status: str, *, method: str, actor, now: datetime,
           keep_attended: bool = False) -> Attendance | None:
    """Set one person's status for a session; returns the row when it changed, else None.
    ``keep_attended`` (self check-in) never downgrades someone already present or late."""
    if status not in set(AttendanceStatus):
        raise Invalid(_l("Unknown attendance status."), field="status")
    if not is_on_roster(session, user_id):
        raise NotAllowed(_l("Only workers enrolled in the course are on its roster."))
    attendance, inserted = _locked_row(session.id, user_id, method, actor, now)
    old = None if inserted else attendance.status
    if old == status or (keep_attended and old in ATTENDED):
        return None
    attended_now, attended_before = status in ATTENDED, old in ATTENDED
    changes = attendance.changes + (1 if attended_now != attended_before else 0)
    db.session.execute(update(Attendance).where(Attendance.id == attendance.id).values(
        status=status, method=method, recorded_by_id=getattr(actor, "id", None), recorded_at=now, changes=changes)
        .execution_options(synchronize_session=False))
    db.session.refresh(attendance)
    if actor is not None and actor.id != user_id:
        record_event(actor, "attendance.set", attendance, union_id=session.course.scope_union_id,
                     session_id=session.id, user_id=user_id, old=old, new=status, method=method)
    attendance_recorded.send(attendance, session=session, attended=attended_now, change=changes, now=now)
    return attendance


def _locked_row(session_id: int, user_id: int, method: str, actor, now: datetime) -> tuple[Attendance, bool]:
    """The attendance row, locked for this transaction, and whether it was just created. A new
    row starts as "absent" (never attended), so concurrent writers queue on one row."""
    begin_write(db.session)
    insert = dialect_insert(db.session)
    inserted = db.session.execute(insert(Attendance).values(
        session_id=session_id, user_id=user_id, status=AttendanceStatus.ABSENT, method=method,
        recorded_by_id=getattr(actor, "id", None), recorded_at=now, changes=0,
    ).on_conflict_do_nothing(index_elements=["session_id", "user_id"]).returning(Attendance.id)).scalar()
    row = db.session.scalars(
        select(Attendance).filter_by(session_id=session_id, user_id=user_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row, inserted is not None


def record_many(session: ClassSession, statuses: dict[int, str], *, method: str, actor, now: datetime) -> int:
    """Set several people's statuses at once (the roster form, a paper roster): all or nothing."""
    if not can_edit_roster(actor, session, now):
        raise NotAllowed(_l("The roster of this session can no longer be changed by instructors; ask a union "
                            "administrator."))
    changed = 0
    for user_id, status in sorted(statuses.items()):
        changed += record(session, user_id, status, method=method, actor=actor, now=now) is not None
    return changed


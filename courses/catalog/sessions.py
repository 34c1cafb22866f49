"""A course's class sessions; on a published course every change to the schedule waits for review."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from classroom.domain import Invalid
from classroom.extensions import db
from classroom.timefmt import zone
from courses.catalog.models import ClassSession, Course, CourseRevision
from courses.catalog.permissions import editing
from courses.catalog.revisions import Change, Held, hold, is_held, pending_revision

MAX_SERIES = 52  # sessions in one weekly series: a year


def _checked_session(data: dict) -> dict:
    if data["ends_at"] <= data["starts_at"]:
        raise Invalid(_l("A session ends after it starts."), field="duration_minutes")
    return data


def add_session(course: Course, data: dict, *, actor, now: datetime) -> Change[ClassSession]:
    """A class session; on a published course it waits in the pending revision."""
    data = _checked_session(data)
    course = editing(course, actor)
    if is_held(course):
        return Change(revision=hold(course, lambda held: held.add_session(data), actor=actor, now=now,
                                    operation="session.add"))
    session = ClassSession(course_id=course.id, created_at=now, updated_at=now, **data)
    db.session.add(session)
    return Change(made=session)


def add_weekly_series(course: Course, *, first_date: date, weekday: int, start: time, duration_minutes: int,
                      count: int, venue_name: str, venue_address: str | None, credit_minutes: int, tz: str | None,
                      actor, now: datetime) -> Change[list[ClassSession]]:
    """Sessions on ``weekday`` (0 = Monday) every week from ``first_date``, ``count`` of them,
    at ``start`` local time in ``tz``; stored in UTC. On a published course the whole series
    waits for review in the pending revision."""
    if not 1 <= count <= MAX_SERIES:
        raise Invalid(_l("A series has 1 to 52 sessions."), field="count")
    first = first_date + timedelta(days=(weekday - first_date.weekday()) % 7)
    series_key = secrets.token_hex(8)
    series = []
    for week in range(count):
        local_start = datetime.combine(first + timedelta(weeks=week), start, tzinfo=zone(tz))
        series.append(_checked_session({
            "starts_at": local_start.astimezone(UTC), "series_key": series_key,
            "ends_at": (local_start + timedelta(minutes=duration_minutes)).astimezone(UTC),
            "venue_name": venue_name, "venue_address": venue_address, "credit_minutes": credit_minutes,
        }))
    course = editing(course, actor)
    if is_held(course):
        def add_all(held: Held) -> None:
            for data in series:
                held.add_session(data)
        return Change(revision=hold(course, add_all, actor=actor, now=now, operation="session.series"))
    created = [ClassSession(course_id=course.id, created_at=now, updated_at=now, **data) for data in series]
    db.session.add_all(created)
    return Change(made=created)


def update_session(session: ClassSession, data: dict, *, actor, now: datetime) -> CourseRevision | None:
    """Change a session; on a published course the change waits for review (the revision is
    returned when this call changed it)."""
    data = _checked_session(data)
    course = editing(session.course, actor)
    if is_held(course):
        return hold(course, lambda held: held.update_session(session, data), actor=actor, now=now,
                    operation="session.update")
    session.change(data, now=now)
    return None


def save_session(course: Course, session: ClassSession | None, data: dict, *, actor,
                 now: datetime) -> Change[ClassSession]:
    """Add a session (``session`` None) or change ``session``: what went live, what waits for review."""
    if session is None:
        return add_session(course, data, actor=actor, now=now)
    revision = update_session(session, data, actor=actor, now=now)
    return Change(made=None if revision else session, revision=revision)


def delete_session(session: ClassSession, *, actor, now: datetime) -> CourseRevision | None:
    """Delete a session; on a published course the deletion waits for review in the pending
    revision (returned)."""
    course = editing(session.course, actor)
    session_id = session.id
    if is_held(course):
        return hold(course, lambda held: held.delete_session(session_id), actor=actor, now=now,
                    operation="session.delete") or pending_revision(course.id)
    db.session.delete(session)
    return None

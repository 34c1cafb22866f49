"""A course's content version (``Course.content_version``): raised in the same transaction as any change to what
the course page shows of the course, so a drawing of the page kept under its version is never shown after a change
(courses/enrollment/page.py).

What counts: the course's own fields (not its seat counters), its lessons, class sessions, instructors and
announcements, its instructors' names and its host union's name. The session's own events find ORM changes
(with each flush, one UPDATE … SET content_version = content_version + 1 of the courses concerned). A bulk
statement on a course's lessons, sessions, instructors or announcements names its courses with the execution
option ``courses=[…]``, else every course's version is raised (correct, and costly: name them); one that
updates or deletes people raises the versions of the courses they teach (those of the people named by
``auth_users=[…]``, as for the log-in cache, else of every course that has an instructor). A union renamed in
bulk (no code does) would raise the versions of the courses it hosts itself: ``raise_versions``.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, cast

from sqlalchemy import Table, event, inspect, select, update
from sqlalchemy.orm import Session

from classroom.accounts.models import User
from classroom.unions.models import TradeUnion
from courses.catalog.models import Announcement, ClassSession, Course, CourseInstructor, Lesson

PARTS = (Lesson, ClassSession, CourseInstructor, Announcement)  # rows that belong to one course, by course_id
PART_TABLES = frozenset(part.__tablename__ for part in PARTS)
UNSHOWN = frozenset({"enrolled_count", "waitlist_count", "waitlist_seq", "content_version", "updated_at"})


def listen() -> None:
    """Raise versions with each flush and for bulk statements (Session-wide listeners, attached once)."""
    for name, listener in (("before_flush", _before_flush), ("do_orm_execute", _on_execute)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def raise_versions(session: Session, course_ids: set[int] | None) -> None:
    """Raise the content version of these courses (None: of every course) in the session's transaction."""
    if course_ids is not None and not course_ids:
        return
    table = cast(Table, Course.__table__)
    statement = update(table).values(content_version=table.c.content_version + 1)
    if course_ids is not None:
        statement = statement.where(table.c.id.in_(sorted(course_ids)))
    session.connection().execute(statement)


def _before_flush(session: Session, _context, _instances) -> None:
    """The courses whose page this flush changes (their rows still loadable), raised with it."""
    courses: set[int] = set()
    teachers: set[int] = set()
    hosts: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, PARTS):
            course_id = _course_of(obj, session)
            if course_id is not None:
                courses.add(course_id)
        elif isinstance(obj, Course):
            if obj not in session.new and _changed(obj) - UNSHOWN:
                courses.add(obj.id)
        elif isinstance(obj, User):
            if obj in session.deleted or "real_name" in _changed(obj):
                teachers.add(obj.id)
        elif isinstance(obj, TradeUnion) and "name" in _changed(obj):
            hosts.add(obj.id)
    if teachers:
        courses.update(session.connection().execute(
            select(CourseInstructor.course_id).where(CourseInstructor.user_id.in_(sorted(teachers)))).scalars())
    if hosts:
        courses.update(session.connection().execute(
            select(Course.id).where(Course.host_union_id.in_(sorted(hosts)))).scalars())
    raise_versions(session, courses)


def _course_of(part: Any, session: Session) -> int | None:
    """The course a lesson, session, instructor or announcement belongs to; None for one of a course new in
    this flush (which has no drawing yet)."""
    if part not in session.new:
        return part.course_id
    state = inspect(part).dict
    course = state.get("course")
    return state.get("course_id") or (course.id if course is not None else None)


def _changed(obj: Any) -> set[str]:
    """The names of the row's column attributes whose value this flush changes."""
    state = inspect(obj)
    return {key for key in state.committed_state
            if key in state.mapper.column_attrs and state.attrs[key].history.has_changes()}


def _on_execute(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name in PART_TABLES:
        named = state.execution_options.get("courses")
        raise_versions(state.session, set(named) if named is not None else None)
    elif name == "user" and not state.is_insert:  # people renamed (or gone) in bulk: the courses they teach
        people = state.execution_options.get("auth_users")  # as the log-in cache's stamps name them
        taught = select(CourseInstructor.course_id)
        if people is not None:
            taught = taught.where(CourseInstructor.user_id.in_(sorted(people)))
        raise_versions(state.session, set(state.session.connection().execute(taught).scalars()))

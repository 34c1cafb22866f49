"""What a revision changes, ready for a page: the review queue and the instructor's course page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.catalog.models import ClassSession, CourseRevision, Lesson
from courses.catalog.revisions import LESSON_FIELDS, SESSION_FIELDS, UNION_FIELDS, Held, decode

SessionRow = tuple[str, ClassSession | None, dict | None]
LessonRow = tuple[str, Lesson | None, Any]


@dataclass
class Description:
    """What a revision changes, ready for a page: (name, live value, proposed value) for course
    fields (unions as TradeUnion), and ("add" | "update" | "delete", live row, proposed values)
    for sessions and lessons (lessons: "minutes" with the proposed minutes)."""

    fields: list[tuple[str, Any, Any]]
    sessions: list[SessionRow]
    lessons: list[LessonRow]
    new_scope: TradeUnion | None = None

    @property
    def empty(self) -> bool:
        return not (self.fields or self.sessions or self.lessons)


def describe(revisions: list[CourseRevision]) -> dict[int, Description]:
    """Descriptions of several revisions (their courses loaded), in three queries at most."""
    helds = {revision.id: Held.load(revision.changes) for revision in revisions}
    session_ids = {i for held in helds.values() for i in (*held.session_updates, *held.session_deletes)}
    lesson_ids = {i for held in helds.values() for i in (*held.lesson_minutes, *held.lesson_deletes)}
    union_ids = {value for held in helds.values() for name, value in held.fields.items()
                 if name in UNION_FIELDS and value is not None}
    union_ids |= {getattr(revision.course, name) for revision in revisions for name in UNION_FIELDS
                  if name in helds[revision.id].fields}
    sessions: dict[int, ClassSession] = _by_id(ClassSession, session_ids)
    lessons: dict[int, Lesson] = _by_id(Lesson, lesson_ids)
    unions: dict[int, TradeUnion] = _by_id(TradeUnion, union_ids)
    descriptions = {}
    for revision in revisions:
        held, course = helds[revision.id], revision.course
        fields = []
        for name, value in held.proposed_fields().items():
            live = getattr(course, name)
            if name in UNION_FIELDS:
                live, value = unions.get(live), unions.get(value)
            fields.append((name, live, value))
        new_scope = unions.get(held.fields["scope_union_id"]) if "scope_union_id" in held.fields else None
        descriptions[revision.id] = Description(fields, _session_rows(held, sessions), _lesson_rows(held, lessons),
                                                new_scope)
    return descriptions


def _session_rows(held: Held, sessions: dict[int, ClassSession]) -> list[SessionRow]:
    """Changed and deleted sessions by time, then the new ones in order."""
    changed: list[tuple[str, ClassSession, dict | None]] = [
        ("update", sessions[i], held.proposed_session(sessions[i])) for i in held.session_updates if i in sessions]
    changed += [("delete", sessions[i], None) for i in held.session_deletes if i in sessions]
    changed.sort(key=lambda row: row[1].starts_at)
    return [*changed, *(("add", None, decode(data, SESSION_FIELDS)) for data in held.session_adds)]


def _lesson_rows(held: Held, lessons: dict[int, Lesson]) -> list[LessonRow]:
    """Lessons with changed minutes and deleted ones in course order, then the new ones in order."""
    changed: list[tuple[str, Lesson, Any]] = [
        ("minutes", lessons[i], minutes) for i, minutes in held.lesson_minutes.items() if i in lessons]
    changed += [("delete", lessons[i], None) for i in held.lesson_deletes if i in lessons]
    changed.sort(key=lambda row: row[1].position)
    return [*changed, *(("add", None, decode(data, LESSON_FIELDS)) for data in held.lesson_adds)]


def _by_id(model, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}

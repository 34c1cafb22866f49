"""Changes to a published course held for review (DESIGN §2, issue 4): how a CourseRevision's
``changes`` JSON stores them, how a new proposal merges into the pending one, how an approved
one is applied and how it is described to reviewers and instructors.

``changes`` holds the proposed value of each changed material course field by its name, and
two keys for the course's parts; empty parts are left out::

    {"capacity": 25, "scope_union_id": 3,
     "sessions": {"add": [{<session fields>}, ...],          # new class sessions, in order
                  "update": {"<session id>": {<session fields>}},
                  "delete": [<session id>, ...]},
     "lessons": {"add": [{<lesson fields>}, ...],            # new lessons, appended in order
                 "minutes": {"<lesson id>": <credited minutes>},
                 "delete": [<lesson id>, ...]}}

Times are ISO 8601 with their UTC offset, dates ISO dates. The live course, its sessions and
lessons stay as they are until a reviewer approves; then everything is applied in the
reviewer's transaction (the caller holds the course's row lock)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from classroom.domain import Conflict
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.catalog.models import ClassSession, Course, CourseRevision, Lesson

SESSIONS, LESSONS = "sessions", "lessons"
SESSION_FIELDS = ("title", "starts_at", "ends_at", "venue_name", "venue_address", "credit_minutes", "series_key")
LESSON_FIELDS = ("title", "body", "video_url", "credit_minutes")
UNION_FIELDS = ("host_union_id", "scope_union_id")
_DATETIMES = ("enroll_opens_at", "enroll_closes_at", "starts_at", "ends_at")
_DATES = ("starts_on", "ends_on")


def to_json(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def from_json(name: str, value):
    if value is None:
        return None
    if name in _DATETIMES:
        return datetime.fromisoformat(value)
    if name in _DATES:
        return date.fromisoformat(value)
    return value


def _encode(data: dict, names: tuple[str, ...]) -> dict:
    return {name: to_json(data.get(name)) for name in names if name in data}


def decode(data: dict, names: tuple[str, ...]) -> dict:
    return {name: from_json(name, data.get(name)) for name in names if name in data}


def session_values(session: ClassSession) -> dict:
    return {name: getattr(session, name) for name in SESSION_FIELDS if name != "series_key"}


@dataclass
class Held:
    """A pending revision's changes, unpacked for reading and merging (ids as ints)."""

    fields: dict[str, Any] = field(default_factory=dict)
    session_adds: list[dict] = field(default_factory=list)
    session_updates: dict[int, dict] = field(default_factory=dict)
    session_deletes: list[int] = field(default_factory=list)
    lesson_adds: list[dict] = field(default_factory=list)
    lesson_minutes: dict[int, int] = field(default_factory=dict)
    lesson_deletes: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, changes: dict | None) -> Held:
        changes = copy.deepcopy(changes or {})
        sessions, lessons = changes.pop(SESSIONS, None) or {}, changes.pop(LESSONS, None) or {}
        return cls(
            fields=changes,
            session_adds=list(sessions.get("add", [])),
            session_updates={int(key): value for key, value in sessions.get("update", {}).items()},
            session_deletes=[int(key) for key in sessions.get("delete", [])],
            lesson_adds=list(lessons.get("add", [])),
            lesson_minutes={int(key): value for key, value in lessons.get("minutes", {}).items()},
            lesson_deletes=[int(key) for key in lessons.get("delete", [])],
        )

    def dump(self) -> dict:
        changes = dict(self.fields)
        sessions = {"add": self.session_adds, "update": {str(k): v for k, v in self.session_updates.items()},
                    "delete": self.session_deletes}
        lessons = {"add": self.lesson_adds, "minutes": {str(k): v for k, v in self.lesson_minutes.items()},
                   "delete": self.lesson_deletes}
        for key, part in ((SESSIONS, sessions), (LESSONS, lessons)):
            part = {name: value for name, value in part.items() if value}
            if part:
                changes[key] = part
        return copy.deepcopy(changes)

    # ---- merging a proposal ------------------------------------------------------------------

    def set_fields(self, proposed: dict, live: Course) -> None:
        """Proposed course fields: a value equal to the live one drops an earlier proposal."""
        for name, value in proposed.items():
            if getattr(live, name) == value:
                self.fields.pop(name, None)
            else:
                self.fields[name] = to_json(value)

    def add_session(self, data: dict) -> None:
        self.session_adds.append(_encode(data, SESSION_FIELDS))

    def update_session(self, session: ClassSession, data: dict) -> None:
        if session.id in self.session_deletes:
            raise Conflict(_l("This class session already waits for review to be removed."))
        proposed = _encode(data, SESSION_FIELDS)
        if proposed == _encode(session_values(session), SESSION_FIELDS):
            self.session_updates.pop(session.id, None)
        else:
            self.session_updates[session.id] = proposed

    def delete_session(self, session_id: int) -> None:
        self.session_updates.pop(session_id, None)
        if session_id not in self.session_deletes:
            self.session_deletes.append(session_id)

    def add_lesson(self, data: dict) -> None:
        self.lesson_adds.append(_encode(data, LESSON_FIELDS))

    def set_lesson_minutes(self, lesson: Lesson, minutes: int) -> None:
        if lesson.id in self.lesson_deletes:
            raise Conflict(_l("This lesson already waits for review to be removed."))
        if minutes == lesson.credit_minutes:
            self.lesson_minutes.pop(lesson.id, None)
        else:
            self.lesson_minutes[lesson.id] = minutes

    def delete_lesson(self, lesson_id: int) -> None:
        self.lesson_minutes.pop(lesson_id, None)
        if lesson_id not in self.lesson_deletes:
            self.lesson_deletes.append(lesson_id)

    # ---- reading -----------------------------------------------------------------------------

    def proposed_fields(self) -> dict:
        return {name: from_json(name, value) for name, value in self.fields.items()}

    def proposed_session(self, session: ClassSession) -> dict:
        """The session's values as they will be once the revision is approved."""
        update = self.session_updates.get(session.id)
        return {**session_values(session), **decode(update, SESSION_FIELDS)} if update else session_values(session)


# ---- applying an approved revision ------------------------------------------------------------

def apply_parts(course: Course, held: Held, *, now: datetime) -> None:
    """Apply the held session and lesson operations to the live course (the caller holds the
    course's lock and has applied the course fields). Operations on rows that no longer exist
    are skipped."""
    if held.lesson_minutes or held.lesson_deletes or held.lesson_adds:
        lessons = db.session.scalars(select(Lesson).where(Lesson.course_id == course.id)
                                     .options(selectinload(Lesson.attachments)).order_by(Lesson.position)).all()
        kept = []
        for lesson in lessons:
            if lesson.id in held.lesson_deletes:
                db.session.delete(lesson)  # its attachments' files go after the commit
                continue
            if lesson.id in held.lesson_minutes:
                lesson.credit_minutes = held.lesson_minutes[lesson.id]
            kept.append(lesson)
        for position, lesson in enumerate(kept, start=1):
            lesson.position = position
        for position, data in enumerate(held.lesson_adds, start=len(kept) + 1):
            db.session.add(Lesson(course_id=course.id, position=position, created_at=now,
                                  **decode(data, LESSON_FIELDS)))
    if held.session_updates or held.session_deletes:
        sessions = db.session.scalars(select(ClassSession).where(
            ClassSession.course_id == course.id,
            ClassSession.id.in_([*held.session_updates, *held.session_deletes]))).all()
        for session in sessions:
            if session.id in held.session_deletes:
                db.session.delete(session)  # its attendance rows go with it (ON DELETE CASCADE)
            else:
                session.change(decode(held.session_updates[session.id], SESSION_FIELDS), now=now)
    for data in held.session_adds:
        db.session.add(ClassSession(course_id=course.id, created_at=now, updated_at=now,
                                    **decode(data, SESSION_FIELDS)))
    db.session.flush()


# ---- describing revisions ---------------------------------------------------------------------

@dataclass
class Description:
    """What a revision changes, ready for a page: (name, live value, proposed value) for course
    fields (unions as TradeUnion), and ("add" | "update" | "delete", live row, proposed values)
    for sessions and lessons (lessons: "minutes" with the proposed minutes)."""

    fields: list[tuple[str, Any, Any]]
    sessions: list[tuple[str, ClassSession | None, dict | None]]
    lessons: list[tuple[str, Lesson | None, Any]]
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
    sessions = _by_id(ClassSession, session_ids)
    lessons = _by_id(Lesson, lesson_ids)
    unions = _by_id(TradeUnion, union_ids)
    descriptions = {}
    for revision in revisions:
        held, course = helds[revision.id], revision.course
        fields = []
        for name, value in held.proposed_fields().items():
            live = getattr(course, name)
            if name in UNION_FIELDS:
                live, value = unions.get(live), unions.get(value)
            fields.append((name, live, value))
        rows: list[tuple[str, ClassSession | None, dict | None]] = [
            ("update", sessions[i], held.proposed_session(sessions[i])) for i in held.session_updates if i in sessions]
        rows += [("delete", sessions[i], None) for i in held.session_deletes if i in sessions]
        rows.sort(key=lambda row: row[1].starts_at)
        rows += [("add", None, decode(data, SESSION_FIELDS)) for data in held.session_adds]
        lesson_rows: list[tuple[str, Lesson | None, Any]] = [
            ("minutes", lessons[i], minutes) for i, minutes in held.lesson_minutes.items() if i in lessons]
        lesson_rows += [("delete", lessons[i], None) for i in held.lesson_deletes if i in lessons]
        lesson_rows.sort(key=lambda row: row[1].position)
        lesson_rows += [("add", None, decode(data, LESSON_FIELDS)) for data in held.lesson_adds]
        new_scope = unions.get(held.fields["scope_union_id"]) if "scope_union_id" in held.fields else None
        descriptions[revision.id] = Description(fields, rows, lesson_rows, new_scope)
    return descriptions


def _by_id(model, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}

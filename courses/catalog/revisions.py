"""Changes to a published course held for review (DESIGN §2, issue 4): how a CourseRevision's
``changes`` JSON stores them and how a new proposal merges into the course's pending revision.
(Approving one applies it: courses/catalog/review.py; describing one: descriptions.py.)

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
lessons stay as they are until a reviewer approves.

An instructor's change that adds something answers a ``Change``: what went live at once, and the
pending revision when (part of) it waits for review. Changes and deletions answer the revision
they changed, or None."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from classroom.audit import record_event
from classroom.domain import Conflict
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.catalog.models import ClassSession, Course, CourseRevision, CourseStatus, Lesson, RevisionStatus
from courses.catalog.notices import notify_reviewers, reviewers_of_union
from courses.catalog.permissions import editing

T = TypeVar("T")
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


# ---- proposing a change -------------------------------------------------------------------------

@dataclass(frozen=True)
class Change(Generic[T]):
    """What an instructor's change did: ``made`` is what it wrote to the live course at once (the
    new or changed rows), ``revision`` the course's pending revision when (part of) it waits there."""

    made: T | None = None
    revision: CourseRevision | None = None

    @property
    def live(self) -> bool:
        """Nothing of the change waits for review."""
        return self.revision is None


def is_held(course: Course) -> bool:
    """Changes to hours, schedule, capacity or completion rule wait for review."""
    return course.status == CourseStatus.PUBLISHED


def pending_revision(course_id: int) -> CourseRevision | None:
    """The course's change waiting for review, if any (there is one at most)."""
    return db.session.scalar(select(CourseRevision).filter_by(course_id=course_id, status=RevisionStatus.PENDING))


def held_change(course: Course) -> tuple[CourseRevision | None, Held]:
    """The course's pending revision (or None) and its changes unpacked (empty without one)."""
    revision = pending_revision(course.id)
    return revision, Held.load(revision.changes if revision else None)


def hold(course: Course, change: Callable[[Held], None], *, actor, now: datetime,
         operation: str) -> CourseRevision | None:
    """Merge a proposed change into the course's pending revision (one per course; the caller
    holds the course lock) and tell the reviewers. A proposal that brings everything back to the
    live course withdraws the revision. Returns the revision when this call changed it."""
    revision, held = held_change(course)
    before = held.dump()
    change(held)
    changes = held.dump()
    if changes == before:
        return None
    if revision is None:
        revision = CourseRevision(course_id=course.id, changes=changes, submitted_by_id=actor.id, submitted_at=now)
        db.session.add(revision)
    elif not changes:
        close_revision(revision, RevisionStatus.WITHDRAWN, actor=actor, now=now)
        record_event(actor, "course.revision.withdraw", course, union_id=course.scope_union_id,
                     revision_id=revision.id)
        return None
    else:
        revision.changes, revision.submitted_at = changes, now
    db.session.flush()
    record_event(actor, "course.revision.propose", course, union_id=course.scope_union_id, revision_id=revision.id,
                 operation=operation, changes=changes)
    notify_reviewers(course, "course.revision", f"course.revision:{revision.id}:{now.isoformat()}",
                     _l("A change to %(title)s waits for review"), now=now,
                     reviewers=reviewers_of_union(deciding_union(course, held)))
    return revision


def close_revision(revision: CourseRevision, status: str, *, actor, now: datetime, note: str = "") -> None:
    """Record the decision on a revision (approved, rejected, withdrawn), who took it and when."""
    revision.status, revision.decided_by_id, revision.decided_at = status, actor.id, now
    revision.note = (note or "").strip()[:500] or None


def withdraw_revision(course: Course, *, actor, now: datetime) -> CourseRevision:
    """The instructor takes back the change waiting for review; the live course stays."""
    course = editing(course, actor)
    revision = pending_revision(course.id)
    if revision is None:
        raise Conflict(_l("No change waits for review."))
    close_revision(revision, RevisionStatus.WITHDRAWN, actor=actor, now=now)
    record_event(actor, "course.revision.withdraw", course, union_id=course.scope_union_id, revision_id=revision.id)
    return revision


def proposed_scope(course: Course, held: Held) -> TradeUnion | None:
    """The union a revision would move the course's scope to (None: the scope stays)."""
    union_id = held.fields.get("scope_union_id")
    if union_id is None or union_id == course.scope_union_id:
        return None
    return db.session.get(TradeUnion, union_id)


def deciding_union(course: Course, held: Held) -> TradeUnion:
    """Whose admins decide a revision: those of the course's scope, and of the proposed scope
    too when it moves (the lowest node above both)."""
    new_scope = proposed_scope(course, held)
    if new_scope is None:
        return course.scope_union
    old_ids, new_ids = course.scope_union.ancestor_ids(), new_scope.ancestor_ids()
    shared = 0  # paths share their leading ids down to the lowest common node
    while shared < min(len(old_ids), len(new_ids)) and old_ids[shared] == new_ids[shared]:
        shared += 1
    common = db.session.get(TradeUnion, old_ids[shared - 1]) if shared else None
    return common or course.scope_union

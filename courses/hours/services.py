"""The ledger: append-only credits and reversals, idempotent by source key, with the rollups
kept in the same transaction; the entries admins record for their members."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any, BinaryIO, Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import dialect_insert
from classroom.domain import Invalid, NotAllowed
from classroom.extensions import db
from classroom.timefmt import local_date
from classroom.unions.memberships import membership_union_at
from classroom.unions.models import TradeUnion
from classroom.unions.scope import can_manage_union
from courses.catalog.attachments import discard_file, place_file, receive_file
from courses.catalog.models import ClassSession, Lesson
from courses.hours.models import REVERSAL_NOTE, SESSION_REMOVED_NOTE, HoursEntry, HoursSource
from courses.hours.rollups import roll_up

EXTERNAL_CATEGORY = "external"
EVIDENCE_TYPES = frozenset({"pdf", "png", "jpg", "jpeg"})


class _Membership(enum.Enum):
    NOW = "now"


NOW = _Membership.NOW  # record_entry's default: the union of the person's membership now


def record_entry(*, user_id: int, minutes: int, source: str, source_key: str, earned_on: date,
                 now: datetime, course_id: int | None = None, category: str = "", title: str = "",
                 note: str | None = None, recorded_by_id: int | None = None,
                 evidence: tuple[str, str] | None = None,
                 union_id: int | None | Literal[_Membership.NOW] = NOW) -> HoursEntry | None:
    """Append one ledger entry unless its source key exists (then None). The entry carries the
    person's union of the moment unless ``union_id`` names one (None: no union); the month and
    year rollups change in the same transaction."""
    held_by: int | None = membership_union_at(user_id) if isinstance(union_id, _Membership) else union_id
    insert = dialect_insert(db.session)
    entry_id = db.session.execute(
        insert(HoursEntry).values(
            user_id=user_id, minutes=minutes, source=source, source_key=source_key, earned_on=earned_on,
            union_id=held_by, course_id=course_id, category=category or "", title=(title or "")[:200],
            note=note, recorded_by_id=recorded_by_id, created_at=now,
            evidence_name=evidence[0] if evidence else None, evidence_stored=evidence[1] if evidence else None,
        ).on_conflict_do_nothing(index_elements=["source_key"]).returning(HoursEntry.id)
    ).scalar()
    if entry_id is None:
        return None
    roll_up(held_by or 0, earned_on, source, category or "", minutes, user_id)
    return db.session.get(HoursEntry, entry_id)


# ---- credits from the course features ------------------------------------------------------------

def credit_lesson(lesson: Lesson, user_id: int, *, now: datetime) -> HoursEntry | None:
    """The lesson's minutes for this person, once (by lesson and person), on today's date."""
    course = lesson.course
    return record_entry(user_id=user_id, minutes=lesson.credit_minutes, source=HoursSource.LESSON,
                        source_key=f"lesson:{lesson.id}:{user_id}", earned_on=local_date(now), now=now,
                        course_id=course.id, category=course.category, title=f"{course.title} · {lesson.title}")


def session_credit_key(session_id: int, user_id: int, change: int | str) -> str:
    """The source key of one transition of a person's attendance at a class session."""
    return f"session:{session_id}:{user_id}:{change}"


def sync_session_credit(session: ClassSession, user_id: int, *, attended: bool, change: int | str,
                        now: datetime) -> HoursEntry | None:
    """Make the ledger hold the session's minutes for this person when they attended, and
    nothing when not: a credit, or reversing entries. ``change`` numbers the transitions of this
    attendance (the caller holds its row lock), so each transition has its own key.

    A reversal undoes each earlier credit under the union it was credited to (a worker who has
    moved since keeps the old union's totals right); a new credit goes to the union of now."""
    credited = {union_id or 0: int(minutes) for union_id, minutes in db.session.execute(
        select(HoursEntry.union_id, func.sum(HoursEntry.minutes))
        .where(HoursEntry.source == HoursSource.SESSION,
               HoursEntry.source_key.startswith(f"session:{session.id}:{user_id}:", autoescape=True))
        .group_by(HoursEntry.union_id)
    ).all()}
    held = sum(credited.values())
    wanted = session.credit_minutes if attended else 0
    if wanted == held:
        return None
    course = session.course
    common: dict[str, Any] = dict(user_id=user_id, source=HoursSource.SESSION, earned_on=local_date(session.starts_at),
                                  now=now, course_id=course.id, category=course.category,
                                  title=f"{course.title} · {session.title or session.venue_name}")
    key = session_credit_key(session.id, user_id, change)
    if wanted > held:  # more to credit: to the union of now
        return record_entry(minutes=wanted - held, source_key=key, **common)
    # Less (absent now, or fewer minutes): taken back from the credits made, under their unions.
    first, owed = None, held - wanted
    for index, (union_id, minutes) in enumerate(sorted((u, m) for u, m in credited.items() if m > 0)):
        if owed <= 0:
            break
        taken = min(minutes, owed)
        owed -= taken
        entry = record_entry(minutes=-taken, source_key=key if index == 0 else f"{key}:{union_id}",
                             union_id=union_id or None, note=None if attended else REVERSAL_NOTE, **common)
        first = first or entry
    return first


def reverse_session_credits(session_id: int, *, key_suffix: str, now: datetime) -> int:
    """Undo every credit held for a class session that no longer exists, per person and under the
    union each was credited to; returns the number of reversing entries."""
    held = db.session.execute(
        select(HoursEntry.user_id, HoursEntry.union_id, func.sum(HoursEntry.minutes), func.min(HoursEntry.earned_on),
               func.min(HoursEntry.course_id), func.min(HoursEntry.category), func.min(HoursEntry.title))
        .where(HoursEntry.source == HoursSource.SESSION,
               HoursEntry.source_key.startswith(f"session:{session_id}:", autoescape=True))
        .group_by(HoursEntry.user_id, HoursEntry.union_id)
    ).all()
    made = 0
    for user_id, union_id, minutes, earned_on, course_id, category, title in held:
        if minutes:
            made += record_entry(
                user_id=user_id, minutes=-int(minutes), source=HoursSource.SESSION,
                source_key=f"session:{session_id}:{user_id}:{key_suffix}:{union_id or 0}", earned_on=earned_on,
                now=now, course_id=course_id, category=category, title=title, note=SESSION_REMOVED_NOTE,
                union_id=union_id) is not None
    return made


# ---- admin entries ------------------------------------------------------------------------------

def _check_admin(actor: User, person_union_id: int | None) -> TradeUnion:
    union = db.session.get(TradeUnion, person_union_id) if person_union_id else None
    if union is None or not can_manage_union(actor, union):
        raise NotAllowed(_l("This person is not a member of a union you administer."))
    return union


def add_external(person: User, *, title: str, provider: str, earned_on: date, minutes: int, actor: User,
                 now: datetime, evidence: tuple[str, str] | None = None) -> HoursEntry:
    """External training a union admin records for a member in scope (with optional evidence)."""
    union = _check_admin(actor, membership_union_at(person.id))
    if not 1 <= minutes <= 100 * 60:
        raise Invalid(_l("Enter between 1 and 6000 minutes."), field="minutes")
    if earned_on > local_date(now):
        raise Invalid(_l("The date cannot be in the future."), field="earned_on")
    entry = _fresh(record_entry(user_id=person.id, minutes=minutes, source=HoursSource.EXTERNAL,
                                source_key=f"external:{uuid.uuid4().hex}", earned_on=earned_on, now=now,
                                category=EXTERNAL_CATEGORY, title=f"{title.strip()} · {provider.strip()}"[:200],
                                recorded_by_id=actor.id, evidence=evidence, union_id=union.id))
    record_event(actor, "hours.external", entry, union_id=union.id, user_id=person.id, minutes=minutes)
    return entry


def add_adjustment(person: User, *, minutes: int, reason: str, actor: User, now: datetime) -> HoursEntry:
    """A correction, plus or minus, with its reason; never an edit of an earlier entry."""
    union = _check_admin(actor, membership_union_at(person.id))
    if minutes == 0 or abs(minutes) > 100 * 60:
        raise Invalid(_l("Enter a non-zero number of minutes up to 6000."), field="minutes")
    if not (reason or "").strip():
        raise Invalid(_l("Give the reason for the adjustment."), field="reason")
    entry = _fresh(record_entry(user_id=person.id, minutes=minutes, source=HoursSource.ADJUSTMENT,
                                source_key=f"adjust:{uuid.uuid4().hex}", earned_on=local_date(now), now=now,
                                category=EXTERNAL_CATEGORY, title=reason.strip()[:200], note=reason.strip()[:500],
                                recorded_by_id=actor.id, union_id=union.id))
    record_event(actor, "hours.adjust", entry, union_id=union.id, user_id=person.id, minutes=minutes,
                 reason=reason.strip())
    return entry


def _fresh(entry: HoursEntry | None) -> HoursEntry:
    """The entry ``record_entry`` made under a fresh random key (which never exists already)."""
    if entry is None:
        raise RuntimeError("a random hours source key was taken")
    return entry


def add_external_with_evidence(person: User, *, title: str, provider: str, earned_on: date, minutes: int,
                               actor: User, now: datetime, filename: str | None, stream: BinaryIO | None,
                               folder: str, max_bytes: int) -> HoursEntry:
    """``add_external`` with an optional evidence file (PDF or image): checked, then kept only when the
    entry is recorded; a refused upload records nothing."""
    stored = receive_file(filename, stream, folder=folder, max_bytes=max_bytes, allowed=EVIDENCE_TYPES) \
        if filename and stream is not None else None
    try:
        entry = add_external(person, title=title, provider=provider, earned_on=earned_on, minutes=minutes,
                             actor=actor, now=now,
                             evidence=(stored.original_name, stored.stored_name) if stored else None)
        if stored:
            place_file(stored, folder)
    finally:
        if stored:
            discard_file(stored.temp_path)
    return entry

"""Class-session reminders: within 24 h of a class, and again within 2 h, to the workers enrolled.

Each session's wave is marked once (a ReminderWave row): the scan that marks it reminds everyone enrolled,
later scans remind only those who enrolled since (a late sign-up, a waitlist promotion). A repeated scan
is two indexed look-ups, and inserts reminders only when either finds someone; the dedup keys make any
repeat harmless. Reminders expire when the class starts: a late one is dropped, not sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)

from classroom.accounts.models import User
from classroom.database import UTCDateTime, dialect_insert
from classroom.extensions import db
from classroom.notifications.facts import sql_facts
from classroom.notifications.models import Notification, OutboundMessage, OutboundStatus
from courses.catalog.models import ClassSession, Course
from courses.catalog.revisions import Held
from courses.enrollment.models import Enrollment
from courses.reminders.audience import attends_sessions
from courses.reminders.bulk import as_text, localized, notify_from
from courses.reminders.models import ReminderWave


class Window(NamedTuple):
    """A reminder wave: sessions starting more than ``after`` and at most ``before`` from now."""

    name: str
    after: timedelta
    before: timedelta
    title: object  # a lazy text, the course's title follows it

    @property
    def kind(self) -> str:
        return f"session:{self.name}"

    def holds(self, now: datetime) -> ColumnElement[bool]:
        """SQL: the class session starts within this window."""
        return and_(ClassSession.starts_at > now + self.after, ClassSession.starts_at <= now + self.before)


WINDOWS = (Window("24h", timedelta(hours=2), timedelta(hours=24), _l("Your class starts within 24 hours: ")),
           Window("2h", timedelta(0), timedelta(hours=2), _l("Your class starts within 2 hours: ")))

# Someone whose enrollment commits just as a wave is marked may be missed by it (their row was not
# yet visible) though their enrolled_at is older than the scan: a session's wave is therefore
# stamped this long before the scan that marks it, and whoever enrolled after the stamp counts as late.
# (enrolled_at is the application's clock at the change: a transaction held open longer than this,
# or servers' clocks further apart, could still miss someone.)
LATE_ENROLLMENT_MARGIN = timedelta(minutes=5)
WAITING_TO_GO = (OutboundStatus.QUEUED, OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def remind_sessions(*, now: datetime) -> int:
    """Class sessions starting within 24 h (and again within 2 h) → their enrolled workers; returns how many
    reminders are new. The caller commits."""
    marked = _mark_waves(now)
    late = _late_signups(now)
    if not marked and not late:
        return 0
    parts = [rows for window in WINDOWS if (rows := _reminders(window, marked, late, now)) is not None]
    reminders = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    # (WHERE true: SQLite would read the upsert's ON CONFLICT as a join's ON after a bare FROM)
    return notify_from(select(*reminders.c).where(true()), "session.reminder", now=now)


def _mark_waves(now: datetime) -> list[tuple[str, int]]:
    """Mark the waves of the sessions now in a window that have not gone out, stamped a margin early;
    returns the (kind, session id) pairs marked now (another scan running at once marks the others)."""
    candidates = union_all(*[select(literal(window.kind).label("kind"), ClassSession.id.label("id"))
                             .where(window.holds(now)) for window in WINDOWS]).subquery()
    done = exists().where(ReminderWave.kind == candidates.c.kind, ReminderWave.object_id == candidates.c.id)
    rows = select(candidates.c.kind, candidates.c.id, literal(now - LATE_ENROLLMENT_MARGIN, UTCDateTime())) \
        .where(~done)
    statement = (dialect_insert(db.session)(ReminderWave).from_select(["kind", "object_id", "sent_at"], rows)
                 .on_conflict_do_nothing(index_elements=["kind", "object_id"])
                 .returning(ReminderWave.kind, ReminderWave.object_id))
    return [(row[0], row[1]) for row in db.session.execute(statement)]


def _late_signups(now: datetime) -> list[tuple[str, int, int]]:
    """(kind, session id, user id) of people who enrolled after their session's wave went out and have
    not been reminded. A wave is marked once its session is in the window, so it is younger than the
    window: the constant bound says no more than that, and lets the enrollment index find the late ones."""
    oldest = now - max(window.before for window in WINDOWS) - LATE_ENROLLMENT_MARGIN
    reminded = exists().where(Notification.dedup_key == literal("session:") + as_text(ClassSession.id)
                              + literal(":") + func.substr(ReminderWave.kind, 9) + literal(":")
                              + as_text(Enrollment.user_id))
    in_its_window = or_(*[and_(ReminderWave.kind == window.kind, window.holds(now)) for window in WINDOWS])
    rows = db.session.execute(
        select(ReminderWave.kind, ClassSession.id, Enrollment.user_id).select_from(ClassSession)
        .join(ReminderWave, ReminderWave.object_id == ClassSession.id)
        .join(Enrollment, Enrollment.course_id == ClassSession.course_id).join(User, User.id == Enrollment.user_id)
        .where(attends_sessions(), in_its_window, Enrollment.enrolled_at > oldest,
               Enrollment.enrolled_at > ReminderWave.sent_at, ~reminded))
    return [(kind, session_id, user_id) for kind, session_id, user_id in rows]


def _reminders(window: Window, marked: list[tuple[str, int]], late: list[tuple[str, int, int]],
               now: datetime) -> Select | None:
    """SELECT of one window's reminders: everyone enrolled in the sessions marked now, and the latecomers."""
    fresh = [session_id for kind, session_id in marked if kind == window.kind]
    latecomers = [(session_id, user_id) for kind, session_id, user_id in late if kind == window.kind]
    if not fresh and not latecomers:
        return None
    whom: ColumnElement[bool] = ClassSession.id.in_(fresh)
    if latecomers:
        whom = or_(whom, tuple_(ClassSession.id, Enrollment.user_id).in_(latecomers))
    return (
        select(Enrollment.user_id.label("user_id"), literal("session.reminder").label("kind"),
               (literal("session:") + as_text(ClassSession.id) + literal(f":{window.name}:")
                + as_text(Enrollment.user_id)).label("dedup_key"),
               localized(window.title, Course.title).label("title"), _venue().label("body"),
               (literal("/courses/") + as_text(Course.id)).label("link"), ClassSession.starts_at.label("expires_at"),
               sql_facts(course=Course.title, session=ClassSession.title, starts_at=ClassSession.starts_at,
                         ends_at=ClassSession.ends_at, venue=ClassSession.venue_name,
                         address=ClassSession.venue_address).label("facts"))
        .select_from(ClassSession).join(Course, Course.id == ClassSession.course_id)
        .join(Enrollment, Enrollment.course_id == Course.id).join(User, User.id == Enrollment.user_id)
        .where(window.holds(now), attends_sessions(), whom))


def _venue():
    """SQL: the venue, and its address when there is one (市工人文化宫 · 人民路 1 号)."""
    return func.coalesce(ClassSession.venue_name + literal(" · ") + ClassSession.venue_address,
                         ClassSession.venue_name)


def rewind_moved_sessions(course, *, revision, now, **_) -> None:
    """An approved change moved class sessions later: a wave marked before a session's new window
    opened belongs to the old time. It starts again, so the coming scans remind everyone enrolled
    of the new time; the reminders it sent keep their place in the bell under a retired key, and
    their copies not yet sent are dropped (they name the old time)."""
    changed = list(Held.load(revision.changes).session_updates)
    stale = _stale_waves(changed) if changed else []
    if not stale:
        return
    db.session.execute(delete(ReminderWave).where(tuple_(ReminderWave.kind, ReminderWave.object_id).in_(stale)))
    people = db.session.scalars(select(Enrollment.user_id).where(Enrollment.course_id == course.id)).all()
    keys = [f"session:{session_id}:{kind.removeprefix('session:')}:{user_id}"
            for kind, session_id in stale for user_id in people]
    for start in range(0, len(keys), 1000):
        _retire(keys[start:start + 1000], f":moved-r{revision.id}")


def _stale_waves(session_ids: list[int]) -> list[tuple[str, int]]:
    """(kind, session id) of the waves these sessions' new times have not reached yet."""
    before = {window.kind: window.before for window in WINDOWS}
    rows = db.session.execute(
        select(ReminderWave.kind, ReminderWave.object_id, ReminderWave.sent_at, ClassSession.starts_at)
        .join(ClassSession, ClassSession.id == ReminderWave.object_id)
        .where(ReminderWave.kind.in_(before), ReminderWave.object_id.in_(session_ids))).all()
    return [(kind, session_id) for kind, session_id, sent_at, starts_at in rows
            if sent_at < starts_at - before[kind] - LATE_ENROLLMENT_MARGIN]


def _retire(keys: list[str], suffix: str) -> None:
    """Give the reminders of these keys (and their copies) a retired key; drop copies not yet sent."""
    sent = select(Notification.id).where(Notification.dedup_key.in_(keys))
    db.session.execute(
        update(OutboundMessage).where(OutboundMessage.notification_id.in_(sent))
        .values(dedup_key=OutboundMessage.dedup_key + suffix,
                status=case((OutboundMessage.status.in_(WAITING_TO_GO), OutboundStatus.DROPPED),
                            else_=OutboundMessage.status)))
    db.session.execute(update(Notification).where(Notification.dedup_key.in_(keys))
                       .values(dedup_key=Notification.dedup_key + suffix)
                       .execution_options(auth_users=()))  # the bell does not change


def session_reminder_count(*, now: datetime) -> int:
    """The same predicate, counted (the benchmark's yardstick)."""
    return db.session.scalar(
        select(func.count()).select_from(ClassSession).join(Enrollment, Enrollment.course_id == ClassSession.course_id)
        .join(User, User.id == Enrollment.user_id)
        .where(ClassSession.starts_at > now, ClassSession.starts_at <= now + timedelta(hours=24), attends_sessions())
    ) or 0

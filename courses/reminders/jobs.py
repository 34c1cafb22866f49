"""Reminder scans. Each is one set-based INSERT … SELECT of notifications under unique dedup keys
(rendered per language in SQL), followed by the outbox fan-out: running a scan again creates
nothing. Features add their scans to the registry (``add_job``) and counts to the approvers' digest
(``add_approval_counter``) in their ``init_app``."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from classroom.accounts.models import Role, RoleGrant, User
from classroom.accounts.session_cache import changed_everyone
from classroom.database import UTCDateTime
from classroom.extensions import db
from classroom.notifications.facts import sql_facts
from classroom.notifications.models import Notification, OutboundMessage, OutboundStatus
from classroom.notifications.outbox import fan_out
from classroom.notifications.services import notify
from classroom.registry import registry
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from courses.catalog.hooks import course_changed
from courses.catalog.models import ClassSession, Course, CourseFollow, CourseInstructor, CourseMode, CourseStatus
from courses.catalog.revisions import Held
from courses.certificates.models import Certificate, CertificateStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.reminders.audience import attends_sessions
from courses.reminders.models import ReminderWave

# (name, label, email on by default, text message on by default): added to the registry by init_app
REMINDER_KINDS = [
    ("session.reminder", _l("Class reminders"), True, True),
    ("study.idle", _l("Reminders to keep studying"), True, False),
    ("course.closing", _l("Enrollment closing for a followed course"), True, False),
    ("approvals.digest", _l("Daily list of decisions waiting for you"), True, False),
    ("certificate.expiring", _l("A certificate is about to expire"), True, False),
]


def _text(lazy, locale: str) -> str:
    with force_locale(locale):
        return str(lazy)


def _localized(lazy, *suffix):
    """SQL: the text in the recipient's language (User.locale), then the given SQL pieces."""
    english, chinese = _text(lazy, "en"), _text(lazy, "zh_CN")
    text = case((User.locale == "en", literal(english)), else_=literal(chinese))
    for piece in suffix:
        text = text + piece
    return text


def _id(column):
    return cast(column, String)


def notify_from(rows, kind: str, *, now: datetime) -> int:
    """INSERT the notifications a SELECT describes (user_id, kind, dedup_key, title, body, link,
    expires_at and, for the email and text message, facts: classroom.notifications.facts.sql_facts),
    skipping keys that exist, then queue their email/SMS copies — all in SQL, so memory stays flat
    however many people are reminded. Returns how many were new."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    columns = ["user_id", "kind", "dedup_key", "title", "body", "link", "expires_at"]
    columns += ["facts", "created_at"] if len(rows.selected_columns) > len(columns) else ["created_at"]
    stamp = literal(now, UTCDateTime())
    statement = (insert(Notification).from_select(columns, rows.add_columns(stamp))
                 .on_conflict_do_nothing(index_elements=["dedup_key"]).execution_options(auth_users=()))
    if insert is pg_insert:  # counted in the database: no row per notification comes back
        made = db.session.scalar(select(func.count()).select_from(statement.returning(literal(1)).cte("made")))
    else:
        made = db.session.execute(statement).rowcount
    if made:  # the rows this scan created carry its kind and its timestamp
        changed_everyone(db.session)  # bells of people not named here
        fan_out(select(Notification.id).where(Notification.kind == kind, Notification.created_at == stamp), now=now)
    return made


# ---- class sessions --------------------------------------------------------------------------------

WINDOWS = (("24h", timedelta(hours=2), timedelta(hours=24), _l("Your class starts within 24 hours: ")),
           ("2h", timedelta(0), timedelta(hours=2), _l("Your class starts within 2 hours: ")))


def _new_waves(candidates, *, stamp: datetime) -> list[tuple[str, int]]:
    """Mark the (kind, id) pairs of ``candidates`` (a subquery) whose wave has not gone out, stamped
    ``stamp``; returns the pairs marked now (another scan running at once marks the others)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    done = exists().where(ReminderWave.kind == candidates.c.kind, ReminderWave.object_id == candidates.c.id)
    rows = select(candidates.c.kind, candidates.c.id, literal(stamp, UTCDateTime())).where(~done)
    statement = (insert(ReminderWave).from_select(["kind", "object_id", "sent_at"], rows)
                 .on_conflict_do_nothing(index_elements=["kind", "object_id"])
                 .returning(ReminderWave.kind, ReminderWave.object_id))
    return [(row[0], row[1]) for row in db.session.execute(statement)]


# Someone whose enrollment commits just as a wave is marked may be missed by it (their row was not
# yet visible) though their enrolled_at is older than the scan: a session's wave is therefore
# stamped this long before the scan that marks it, and whoever enrolled after the stamp counts as late.
# (enrolled_at is the application's clock at the change: a transaction held open longer than this,
# or servers' clocks further apart, could still miss someone.)
LATE_ENROLLMENT_MARGIN = timedelta(minutes=5)


def session_reminders(*, now: datetime) -> int:
    """Class sessions starting within 24 h (and again within 2 h) → their enrolled workers.
    Each session's wave is marked once: the scan that marks it reminds everyone enrolled, and
    later scans remind only those who enrolled since (a late sign-up, a waitlist promotion). A
    repeated scan is two indexed look-ups (mark the waves; find late sign-ups through the
    enrollment index), and only when either finds someone does it insert reminders; the dedup keys
    make any repeat harmless. Reminders expire when the class starts: a late one is dropped, not
    sent."""
    def in_window(after, before):
        return and_(ClassSession.starts_at > now + after, ClassSession.starts_at <= now + before)

    candidates = union_all(*[
        select(literal(f"session:{name}").label("kind"), ClassSession.id.label("id")).where(in_window(after, before))
        for name, after, before, _title in WINDOWS]).subquery()
    marked = _new_waves(candidates, stamp=now - LATE_ENROLLMENT_MARGIN)
    # A wave is marked once its session is in the window, so it is younger than the window: the
    # constant bound says no more than that, and lets the enrollment index find the late ones.
    oldest = now - max(before for _name, _after, before, _title in WINDOWS) - LATE_ENROLLMENT_MARGIN
    reminded = exists().where(Notification.dedup_key == literal("session:") + _id(ClassSession.id) + literal(":")
                              + func.substr(ReminderWave.kind, 9) + literal(":") + _id(Enrollment.user_id))
    late = db.session.execute(
        select(ReminderWave.kind, ClassSession.id, Enrollment.user_id)
        .select_from(ClassSession)
        .join(ReminderWave, ReminderWave.object_id == ClassSession.id)
        .join(Enrollment, Enrollment.course_id == ClassSession.course_id)
        .join(User, User.id == Enrollment.user_id)
        .where(attends_sessions(), or_(*[and_(ReminderWave.kind == f"session:{name}", in_window(after, before))
                                         for name, after, before, _title in WINDOWS]),
               Enrollment.enrolled_at > oldest,
               Enrollment.enrolled_at > ReminderWave.sent_at, ~reminded)
    ).all()
    if not marked and not late:
        db.session.commit()
        return 0
    parts = []
    for name, after, before, title in WINDOWS:
        kind = f"session:{name}"
        fresh = [object_id for marked_kind, object_id in marked if marked_kind == kind]
        latecomers = [(session_id, user_id) for late_kind, session_id, user_id in late if late_kind == kind]
        if not fresh and not latecomers:
            continue
        whom = or_(ClassSession.id.in_(fresh),
                   tuple_(ClassSession.id, Enrollment.user_id).in_(latecomers)) if latecomers else \
            ClassSession.id.in_(fresh)
        parts.append(
            select(Enrollment.user_id.label("user_id"), literal("session.reminder").label("kind"),
                   (literal("session:") + _id(ClassSession.id) + literal(f":{name}:") + _id(Enrollment.user_id))
                   .label("dedup_key"),
                   _localized(title, Course.title).label("title"), _venue().label("body"),
                   (literal("/courses/") + _id(Course.id)).label("link"), ClassSession.starts_at.label("expires_at"),
                   sql_facts(course=Course.title, session=ClassSession.title, starts_at=ClassSession.starts_at,
                             ends_at=ClassSession.ends_at, venue=ClassSession.venue_name,
                             address=ClassSession.venue_address).label("facts"))
            .select_from(ClassSession).join(Course, Course.id == ClassSession.course_id)
            .join(Enrollment, Enrollment.course_id == Course.id).join(User, User.id == Enrollment.user_id)
            .where(in_window(after, before), attends_sessions(), whom))
    reminders = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    # (WHERE true: SQLite would read the upsert's ON CONFLICT as a join's ON after a bare FROM)
    made = notify_from(select(*reminders.c).where(true()), "session.reminder", now=now)
    db.session.commit()
    return made


def _venue():
    """SQL: the venue, and its address when there is one (市工人文化宫 · 人民路 1 号)."""
    return func.coalesce(ClassSession.venue_name + literal(" · ") + ClassSession.venue_address,
                         ClassSession.venue_name)


WAITING_TO_GO = (OutboundStatus.QUEUED, OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def rewind_moved_sessions(course, *, revision, now, **_) -> None:
    """An approved change moved class sessions later: a wave marked before a session's new window
    opened belongs to the old time. It starts again, so the coming scans remind everyone enrolled
    of the new time; the reminders it sent keep their place in the bell under a retired key, and
    their copies not yet sent are dropped (they name the old time)."""
    changed = list(Held.load(revision.changes).session_updates)
    if not changed:
        return
    windows = {f"session:{name}": before for name, _after, before, _title in WINDOWS}
    rows = db.session.execute(
        select(ReminderWave.kind, ReminderWave.object_id, ReminderWave.sent_at, ClassSession.starts_at)
        .join(ClassSession, ClassSession.id == ReminderWave.object_id)
        .where(ReminderWave.kind.in_(windows), ReminderWave.object_id.in_(changed))).all()
    stale = [(kind, session_id) for kind, session_id, sent_at, starts_at in rows
             if sent_at < starts_at - windows[kind] - LATE_ENROLLMENT_MARGIN]
    if not stale:
        return
    db.session.execute(delete(ReminderWave).where(tuple_(ReminderWave.kind, ReminderWave.object_id).in_(stale)))
    people = db.session.scalars(select(Enrollment.user_id).where(Enrollment.course_id == course.id)).all()
    keys = [f"session:{session_id}:{kind.removeprefix('session:')}:{user_id}"
            for kind, session_id in stale for user_id in people]
    retired = f":moved-r{revision.id}"
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        sent = select(Notification.id).where(Notification.dedup_key.in_(chunk))
        db.session.execute(
            update(OutboundMessage).where(OutboundMessage.notification_id.in_(sent))
            .values(dedup_key=OutboundMessage.dedup_key + retired,
                    status=case((OutboundMessage.status.in_(WAITING_TO_GO), OutboundStatus.DROPPED),
                                else_=OutboundMessage.status)))
        db.session.execute(update(Notification).where(Notification.dedup_key.in_(chunk))
                           .values(dedup_key=Notification.dedup_key + retired)
                           .execution_options(auth_users=()))  # the bell does not change


def session_reminder_count(*, now: datetime) -> int:
    """The same predicate, counted (the benchmark's yardstick)."""
    return db.session.scalar(
        select(func.count()).select_from(ClassSession).join(Enrollment, Enrollment.course_id == ClassSession.course_id)
        .join(User, User.id == Enrollment.user_id)
        .where(ClassSession.starts_at > now, ClassSession.starts_at <= now + timedelta(hours=24), attends_sessions()))


# ---- studying -------------------------------------------------------------------------------------

IDLE_AFTER = timedelta(days=7)  # no study for this long → a reminder
IDLE_EVERY = timedelta(days=7)  # and at most one per enrollment in any such span


def idle_reminders(*, now: datetime) -> int:
    """Enrolled in an online or blended course with no study for 7 days → the worker, at most once in
    any 7 days (not once per calendar week: a scan on Sunday night and one on Monday morning make one).

    Set-based in two statements. First each due enrollment's "study.idle" wave (one row per
    enrollment) is inserted, or moved to ``now`` only if the last one is at least 7 days old: a
    conditional upsert on the wave's primary key, so two scans at once cannot both take it. Then
    the enrollments whose wave was moved by this scan get their reminder, keyed by the enrollment
    and the day."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stamp = literal(now, UTCDateTime())
    last = func.coalesce(Enrollment.last_studied_at, Enrollment.enrolled_at)
    reminded = exists().where(ReminderWave.kind == "study.idle", ReminderWave.object_id == Enrollment.id,
                              ReminderWave.sent_at > now - IDLE_EVERY)
    due = (
        select(literal("study.idle"), Enrollment.id, stamp)
        .select_from(Enrollment).join(Course, Course.id == Enrollment.course_id)
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.status == EnrollmentStatus.ENROLLED,
               Course.mode.in_([CourseMode.ONLINE, CourseMode.BLENDED]), Course.status == CourseStatus.PUBLISHED,
               last < now - IDLE_AFTER, User.is_active.is_(True), ~reminded)
    )
    claim = insert(ReminderWave).from_select(["kind", "object_id", "sent_at"], due)
    db.session.execute(claim.on_conflict_do_update(
        index_elements=["kind", "object_id"], set_={"sent_at": claim.excluded.sent_at},
        where=ReminderWave.sent_at <= now - IDLE_EVERY))
    rows = (
        select(Enrollment.user_id, literal("study.idle"),
               literal("idle:") + _id(Enrollment.id) + literal(f":{now.date().isoformat()}"),
               _localized(_l("Keep going: "), Course.title), literal(""), literal("/courses/") + _id(Course.id),
               literal(None, UTCDateTime()),
               sql_facts(course=Course.title, last_studied_at=func.coalesce(Enrollment.last_studied_at,
                                                                           Enrollment.enrolled_at)))
        .select_from(ReminderWave).join(Enrollment, Enrollment.id == ReminderWave.object_id)
        .join(Course, Course.id == Enrollment.course_id).join(User, User.id == Enrollment.user_id)
        .where(ReminderWave.kind == "study.idle", ReminderWave.sent_at == stamp)
    )
    made = notify_from(rows, "study.idle", now=now)
    db.session.commit()
    return made


def closing_reminders(*, now: datetime) -> int:
    """A followed course's enrollment window closes within 48 h → its followers not signed up."""
    signed_up = exists().where(Enrollment.course_id == CourseFollow.course_id,
                               Enrollment.user_id == CourseFollow.user_id,
                               Enrollment.status.not_in([EnrollmentStatus.DROPPED, EnrollmentStatus.REJECTED]))
    rows = (
        select(CourseFollow.user_id, literal("course.closing"),
               literal("closing:") + _id(Course.id) + literal(":") + _id(CourseFollow.user_id),
               _localized(_l("Enrollment closes within 48 hours: "), Course.title), literal(""),
               literal("/courses/") + _id(Course.id), Course.enroll_closes_at,
               sql_facts(course=Course.title, closes_at=Course.enroll_closes_at))
        .select_from(CourseFollow).join(Course, Course.id == CourseFollow.course_id)
        .join(User, User.id == CourseFollow.user_id)
        .where(Course.status == CourseStatus.PUBLISHED, Course.enroll_closes_at > now,
               Course.enroll_closes_at <= now + timedelta(hours=48), ~signed_up, User.is_active.is_(True))
    )
    made = notify_from(rows, "course.closing", now=now)
    db.session.commit()
    return made


def certificate_expiry_reminders(*, now: datetime) -> int:
    """A certificate expires within 30 days → its holder, once per certificate."""
    rows = (
        select(Certificate.user_id, literal("certificate.expiring"),
               literal("cert-expiry:") + _id(Certificate.id),
               _localized(_l("Your certificate expires within 30 days: "), Certificate.serial), literal(""),
               literal("/me/certificates"), Certificate.expires_at,
               sql_facts(serial=Certificate.serial, course=Course.title, expires_at=Certificate.expires_at))
        .select_from(Certificate).join(User, User.id == Certificate.user_id)
        .outerjoin(Course, Course.id == Certificate.course_id)
        .where(Certificate.status == CertificateStatus.VALID, Certificate.expires_at > now,
               Certificate.expires_at <= now + timedelta(days=30), User.is_active.is_(True))
    )
    made = notify_from(rows, "certificate.expiring", now=now)
    db.session.commit()
    return made


# ---- the approvers' daily digest ---------------------------------------------------------------------

# A counter is ``counter(now) → {user_id: {label key: count}}``: items waiting for that person's decision;
# features add theirs with a label per key (``registry.add_approval_counter``); a key without one shows as is.


def _admin_subtree_counts(items, key: str) -> dict[int, dict[str, int]]:
    """{admin user id: {key: number of ``items`` (id, path) in the subtrees they administer}}."""
    admin_union = TradeUnion.__table__.alias("admin_union")
    rows = db.session.execute(
        select(RoleGrant.user_id, func.count(func.distinct(items.c.id))).select_from(RoleGrant)
        .join(admin_union, admin_union.c.id == RoleGrant.union_id)
        .join(items, items.c.path.like(admin_union.c.path + "%"))
        .where(RoleGrant.role == Role.UNION_ADMIN).group_by(RoleGrant.user_id)
    ).all()
    return {user_id: {key: count} for user_id, count in rows}


def pending_memberships(now: datetime) -> dict[int, dict[str, int]]:
    waiting = (select(Membership.id, TradeUnion.path).join(TradeUnion, TradeUnion.id == Membership.union_id)
               .where(Membership.status == MembershipStatus.APPLIED).subquery())
    return _admin_subtree_counts(waiting, "memberships")


def pending_courses(now: datetime) -> dict[int, dict[str, int]]:
    waiting = (select(Course.id, TradeUnion.path).join(TradeUnion, TradeUnion.id == Course.scope_union_id)
               .where(Course.status == CourseStatus.PENDING).subquery())
    return _admin_subtree_counts(waiting, "courses")


def pending_enrollments(now: datetime) -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        select(CourseInstructor.user_id, func.count(Enrollment.id))
        .join(Enrollment, Enrollment.course_id == CourseInstructor.course_id)
        .where(Enrollment.status == EnrollmentStatus.PENDING).group_by(CourseInstructor.user_id)
    ).all()
    return {user_id: {"enrollments": count} for user_id, count in rows}


def approver_digest(*, now: datetime) -> int:
    """Once a day: one notification per approver listing what waits for them (none when nothing)."""
    waiting: dict[int, dict[str, int]] = {}
    counters, labels = registry().approval_counters, registry().digest_labels
    for counter in counters:
        for user_id, counts in counter(now).items():
            for key, count in counts.items():
                waiting.setdefault(user_id, {})[key] = waiting.get(user_id, {}).get(key, 0) + count
    people = db.session.scalars(select(User).where(User.id.in_(list(waiting)), User.is_active.is_(True))).all()
    day = now.date().isoformat()
    made = 0
    for person in people:
        counts = {key: count for key, count in waiting[person.id].items() if count}
        if not counts:
            continue
        with force_locale(person.locale or "zh_CN"):
            labelled = [(str(labels.get(key, key)), count) for key, count in sorted(counts.items())]
        body = "；".join(f"{label}: {count}" for label, count in labelled)
        made += notify(person, "approvals.digest", f"approvals:{person.id}:{day}",
                       _l("%(count)d items wait for your decision"), body, link="/",
                       params={"count": sum(counts.values())}, facts={"counts": labelled}, now=now)
    db.session.commit()
    return made


def init_app(app) -> None:
    """The reminder scans, their kinds, the approvers' digest of the shell's own waiting items, and the
    rewinding of reminder waves when a class moves."""
    registry = app.extensions["classroom"]
    for name, label, email, sms in REMINDER_KINDS:
        registry.add_kind(name, label, email=email, sms=sms)
    registry.add_approval_counter(pending_memberships, {"memberships": _l("membership applications")})
    registry.add_approval_counter(pending_courses, {"courses": _l("courses to review")})
    registry.add_approval_counter(pending_enrollments, {"enrollments": _l("sign-ups to approve")})
    for name, job in (("reminders.sessions", session_reminders), ("reminders.idle", idle_reminders),
                      ("reminders.closing", closing_reminders), ("reminders.approvals", approver_digest),
                      ("reminders.certificates", certificate_expiry_reminders)):
        registry.add_job(name, job, "REMINDER_SCAN_SECONDS")
    course_changed.connect(rewind_moved_sessions)

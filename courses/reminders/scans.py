"""The reminder scans besides class sessions: keep studying, a followed course's enrollment closing, a
certificate about to expire. Each is a set-based INSERT … SELECT of notifications under unique dedup keys:
running a scan again creates nothing. The job that runs a scan commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, literal, select

from classroom.accounts.models import User
from classroom.database import UTCDateTime, dialect_insert
from classroom.extensions import db
from classroom.notifications.facts import sql_facts
from courses.catalog.models import Course, CourseFollow, CourseMode, CourseStatus
from courses.certificates.models import Certificate, CertificateStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.reminders.bulk import as_text, localized, notify_from
from courses.reminders.models import ReminderWave

IDLE_AFTER = timedelta(days=7)  # no study for this long → a reminder
IDLE_EVERY = timedelta(days=7)  # and at most one per enrollment in any such span


def remind_idle(*, now: datetime) -> int:
    """Enrolled in an online or blended course with no study for 7 days → the worker, at most once in
    any 7 days (not once per calendar week: a scan on Sunday night and one on Monday morning make one).
    The enrollments whose wave this scan moved get their reminder, keyed by the enrollment and the day."""
    _claim_idle_waves(now)
    stamp = literal(now, UTCDateTime())
    rows = (
        select(Enrollment.user_id, literal("study.idle"),
               literal("idle:") + as_text(Enrollment.id) + literal(f":{now.date().isoformat()}"),
               localized(_l("Keep going: "), Course.title), literal(""), literal("/courses/") + as_text(Course.id),
               literal(None, UTCDateTime()),
               sql_facts(course=Course.title, last_studied_at=func.coalesce(Enrollment.last_studied_at,
                                                                           Enrollment.enrolled_at)))
        .select_from(ReminderWave).join(Enrollment, Enrollment.id == ReminderWave.object_id)
        .join(Course, Course.id == Enrollment.course_id).join(User, User.id == Enrollment.user_id)
        .where(ReminderWave.kind == "study.idle", ReminderWave.sent_at == stamp)
    )
    return notify_from(rows, "study.idle", now=now)


def _claim_idle_waves(now: datetime) -> None:
    """Insert each due enrollment's "study.idle" wave (one row per enrollment), or move it to ``now`` only
    if the last one is at least 7 days old: a conditional upsert on the wave's primary key, so two scans
    at once cannot both take it."""
    last = func.coalesce(Enrollment.last_studied_at, Enrollment.enrolled_at)
    reminded = exists().where(ReminderWave.kind == "study.idle", ReminderWave.object_id == Enrollment.id,
                              ReminderWave.sent_at > now - IDLE_EVERY)
    due = (
        select(literal("study.idle"), Enrollment.id, literal(now, UTCDateTime()))
        .select_from(Enrollment).join(Course, Course.id == Enrollment.course_id)
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.status == EnrollmentStatus.ENROLLED,
               Course.mode.in_([CourseMode.ONLINE, CourseMode.BLENDED]), Course.status == CourseStatus.PUBLISHED,
               last < now - IDLE_AFTER, User.is_active.is_(True), ~reminded)
    )
    claim = dialect_insert(db.session)(ReminderWave).from_select(["kind", "object_id", "sent_at"], due)
    db.session.execute(claim.on_conflict_do_update(
        index_elements=["kind", "object_id"], set_={"sent_at": claim.excluded.sent_at},
        where=ReminderWave.sent_at <= now - IDLE_EVERY))


def remind_closing(*, now: datetime) -> int:
    """A followed course's enrollment window closes within 48 h → its followers not signed up."""
    signed_up = exists().where(Enrollment.course_id == CourseFollow.course_id,
                               Enrollment.user_id == CourseFollow.user_id,
                               Enrollment.status.not_in([EnrollmentStatus.DROPPED, EnrollmentStatus.REJECTED]))
    rows = (
        select(CourseFollow.user_id, literal("course.closing"),
               literal("closing:") + as_text(Course.id) + literal(":") + as_text(CourseFollow.user_id),
               localized(_l("Enrollment closes within 48 hours: "), Course.title), literal(""),
               literal("/courses/") + as_text(Course.id), Course.enroll_closes_at,
               sql_facts(course=Course.title, closes_at=Course.enroll_closes_at))
        .select_from(CourseFollow).join(Course, Course.id == CourseFollow.course_id)
        .join(User, User.id == CourseFollow.user_id)
        .where(Course.status == CourseStatus.PUBLISHED, Course.enroll_closes_at > now,
               Course.enroll_closes_at <= now + timedelta(hours=48), ~signed_up, User.is_active.is_(True))
    )
    return notify_from(rows, "course.closing", now=now)


def remind_expiring_certificates(*, now: datetime) -> int:
    """A certificate expires within 30 days → its holder, once per certificate."""
    rows = (
        select(Certificate.user_id, literal("certificate.expiring"),
               literal("cert-expiry:") + as_text(Certificate.id),
               localized(_l("Your certificate expires within 30 days: "), Certificate.serial), literal(""),
               literal("/me/certificates"), Certificate.expires_at,
               sql_facts(serial=Certificate.serial, course=Course.title, expires_at=Certificate.expires_at))
        .select_from(Certificate).join(User, User.id == Certificate.user_id)
        .outerjoin(Course, Course.id == Certificate.course_id)
        .where(Certificate.status == CertificateStatus.VALID, Certificate.expires_at > now,
               Certificate.expires_at <= now + timedelta(days=30), User.is_active.is_(True))
    )
    return notify_from(rows, "certificate.expiring", now=now)

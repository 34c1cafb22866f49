"""Self check-in with a rotating 6-digit code (TOTP: an HMAC of the session's secret and the
time step), and workers' personal badges (a daily signed code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import date, datetime, time, timedelta

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from classroom.accounts.models import User
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.forms import parse_id, typed, typed_digits
from classroom.notifications.services import notify_many
from classroom.timefmt import local_date, platform_zone
from classroom.tokens import same_secret
from courses.attendance.models import AttendanceStatus, SessionCheckin
from courses.attendance.services import ON_ROSTER, can_edit_roster, record
from courses.catalog.models import ClassSession
from courses.enrollment.models import Enrollment

BADGE_PREFIX = "CLSB"
CODE_FORMAT = _l("Enter the 6-digit code shown in class, with the digits 0-9.")
NOT_A_BADGE = _l("This is not a worker badge.")
# Yesterday's badge still counts this long past midnight, for a class that crosses midnight.
BADGE_MIDNIGHT_GRACE = timedelta(minutes=15)


def window(session: ClassSession) -> tuple[datetime, datetime]:
    """Check-in is open from CHECKIN_OPENS_MINUTES_BEFORE the start until the end."""
    return session.starts_at - timedelta(minutes=current_app.config["CHECKIN_OPENS_MINUTES_BEFORE"]), session.ends_at


def checkin_of(session: ClassSession) -> SessionCheckin | None:
    """The session's self check-in, when an instructor opened it."""
    return db.session.get(SessionCheckin, session.id)


def _totp(checkin: SessionCheckin) -> TOTP:
    # RFC 6238's HMAC-SHA1: fine for a 30-second code (no collision resistance is needed).
    return TOTP(bytes.fromhex(checkin.secret), 6, SHA1(), current_app.config["CHECKIN_STEP_SECONDS"],  # noqa: S303
                enforce_key_length=False)


def code_at(checkin: SessionCheckin, moment: datetime) -> str:
    return _totp(checkin).generate(int(moment.timestamp())).decode()


def code_matches(checkin: SessionCheckin, code: str, now: datetime) -> bool:
    """The current step's code or the previous one (a scan at the edge of a step still works)."""
    step = current_app.config["CHECKIN_STEP_SECONDS"]
    return any(same_secret(code_at(checkin, now - timedelta(seconds=back)), code) for back in (0, step))


def open_checkin(session: ClassSession, *, actor, now: datetime) -> SessionCheckin:
    if not can_edit_roster(actor, session, now):
        raise NotAllowed(_l("Only the course's instructors open check-in."))
    opens, closes = window(session)
    if not opens <= now < closes:
        raise Conflict(_l("Check-in can be opened from %(minutes)d minutes before the class until it ends."),
                       minutes=current_app.config["CHECKIN_OPENS_MINUTES_BEFORE"])
    checkin = checkin_of(session)
    if checkin is None:
        checkin = SessionCheckin(session_id=session.id, secret=secrets.token_hex(20), opened_at=now,
                                 opened_by_id=actor.id)
        db.session.add(checkin)
        db.session.flush()
        people = db.session.scalars(select(User).join(Enrollment, Enrollment.user_id == User.id).where(
            Enrollment.course_id == session.course_id, Enrollment.status.in_(ON_ROSTER))).all()
        notify_many(people, "attendance.checkin_open", f"checkin.open:{session.id}",
                    _l("Check-in is open for %(course)s: enter the code shown in class"),
                    link="/checkin", params={"course": session.course.title}, now=now)
    return checkin


def check_in(user, code: str, *, now: datetime, session_id: int | None = None):
    """Check a worker in with the code shown in class (as typed: "１２３ ４５６" counts, "١٢٣٤٥٦" is
    refused): present, or late after the grace period."""
    digits = typed_digits(code, length=6)
    if digits is None:
        raise Invalid(CODE_FORMAT, field="code")
    candidates = _open_sessions_of(user.id, now, session_id)
    if not candidates:
        raise Conflict(_l("No class of yours is open for check-in now. Check-in closes when the class ends."),
                       field="code")
    for session, checkin in candidates:
        if code_matches(checkin, digits, now):
            grace = session.starts_at + timedelta(minutes=current_app.config["CHECKIN_GRACE_MINUTES"])
            status = AttendanceStatus.PRESENT if now <= grace else AttendanceStatus.LATE
            record(session, user.id, status, method="checkin", actor=user, now=now, keep_attended=True)
            return session
    raise Invalid(_l("This code is not right or has expired. Enter the code shown now."), field="code")


def can_check_in(user_id: int, now: datetime) -> bool:
    """Whether a class of the person's is open for self check-in now (the page offers the form only then)."""
    return bool(_open_sessions_of(user_id, now, None))


def _open_sessions_of(user_id: int, now: datetime, session_id: int | None):
    before = timedelta(minutes=current_app.config["CHECKIN_OPENS_MINUTES_BEFORE"])
    statement = (
        select(ClassSession, SessionCheckin).join(SessionCheckin, SessionCheckin.session_id == ClassSession.id)
        .join(Enrollment, Enrollment.course_id == ClassSession.course_id)
        .where(Enrollment.user_id == user_id, Enrollment.status.in_(ON_ROSTER),
               ClassSession.starts_at <= now + before, ClassSession.ends_at > now)
    )
    if session_id is not None:
        statement = statement.where(ClassSession.id == session_id)
    return db.session.execute(statement).all()


# ---- personal badges -----------------------------------------------------------------------------

def badge_code(user_id: int, day: date) -> str:
    """An 8-character code, valid for one day, signed with the app's secret key."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"badge:{user_id}:{day.isoformat()}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest)[:8].decode()


def badge_text(user_id: int, day: date) -> str:
    """What the badge's QR code holds."""
    return f"{BADGE_PREFIX}:{user_id}:{badge_code(user_id, day)}"


def badge_typed(user_id: int, day: date) -> str:
    """What the badge shows under its QR code for typing by hand: ``<user id>-<code>``."""
    return f"{user_id}-{badge_code(user_id, day)}"


def badge_days(now: datetime, session: ClassSession | None = None) -> tuple[date, ...]:
    """The days whose badge counts at ``now``: today's (the platform's day) only, as the badge says. Yesterday's
    counts just past midnight (BADGE_MIDNIGHT_GRACE) for a ``session`` that started before midnight: a worker
    who opened their badge during such a class still shows yesterday's."""
    today = local_date(now)
    midnight = datetime.combine(today, time(), tzinfo=platform_zone())
    crossing = session is not None and session.starts_at < midnight < session.ends_at
    return (today, today - timedelta(days=1)) if crossing and now < midnight + BADGE_MIDNIGHT_GRACE else (today,)


def read_badge(text: str, now: datetime, session: ClassSession | None = None) -> int:
    """The user id of a badge scanned (``CLSB:<id>:<code>``) or typed (``<id>-<code>``; spaces, case
    and full-width characters tolerated): valid on its day only (see badge_days)."""
    cleaned = "".join(typed(text).split()).upper()
    parts = cleaned.split(":")
    if len(parts) == 3 and parts[0] == BADGE_PREFIX:
        user_part, code = parts[1], parts[2]
    elif len(parts) == 1 and cleaned.count("-") == 1:
        user_part, code = cleaned.split("-")
    else:
        raise Invalid(NOT_A_BADGE, field="badge")
    user_id = parse_id(user_part)
    if user_id is None or not (code.isascii() and code.isalnum()):
        raise Invalid(NOT_A_BADGE, field="badge")
    for day in badge_days(now, session):
        if same_secret(badge_code(user_id, day), code):
            return user_id
    raise Invalid(_l("This badge has expired: ask the worker to open today's badge."), field="badge")


def mark_by_badge(session: ClassSession, text: str, *, actor, now: datetime) -> User:
    """Mark present the worker whose badge was scanned or typed (today's; see badge_days)."""
    user_id = read_badge(text, now, session)
    if not can_edit_roster(actor, session, now):
        raise NotAllowed(_l("The roster of this session can no longer be changed by instructors; ask a union "
                            "administrator."))
    record(session, user_id, AttendanceStatus.PRESENT, method="badge", actor=actor, now=now, keep_attended=True)
    return db.session.get_one(User, user_id)  # on the roster: the person exists

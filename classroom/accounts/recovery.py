"""Password recovery: a code by SMS, a link by email, or a link a union admin hands over.

Every answer a visitor sees is the same whether or not an account exists; what differs is only
whether a message actually leaves. Codes and tokens are stored as hashes, used once, expire.

A request for a code or link does the same work either way: it hands the identifier to a
background sender (jobs.py) and answers at once. The look-up, the new code and the delivery (a slow SMS or
mail gateway) happen in that sender's thread, so the answer's timing cannot tell whether an account
exists. (Not the outbox: its quiet hours would hold a code asked for at night until it expired,
and its rows keep the message text, here a live code, in the clear.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Update, select, update

from classroom.accounts.invitations import spend_open_invitations
from classroom.accounts.models import PasswordReset, Role, RoleGrant, User
from classroom.accounts.services import check_password_rules, end_other_sessions, find_by_identifier
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.http import public_url
from classroom.mail import send_mail
from classroom.notifications.services import notify
from classroom.personal_data import is_mobile, normalize_identifier, normalize_mobile
from classroom.registry import Kind
from classroom.security import hash_password
from classroom.sms import send_sms
from classroom.tokens import code_hash, codes_match, new_code, new_token, token_hash
from classroom.unions import scope
from classroom.unions.models import Membership, MembershipStatus, TradeUnion

LINK_INVALID = _l("This link is not valid any more. Ask for a new one.")
ADMIN_LINK_HOURS = 24  # a link an admin hands over in person may take a day to reach its owner
PASSWORD_RESET_KIND = Kind("account.password_reset", _l("Your password was reset"), email=True, sms=False)

SMS_TEXT = _l("[Worker Classroom] Your password reset code is %(code)s. It expires in %(minutes)d minutes. "
              "Do not share it.")
MAIL_SUBJECT = _l("Reset your Worker Classroom password")
MAIL_TEXT = _l("Someone asked to reset the password of your Worker Classroom account. If it was you, open "
               "this link within %(minutes)d minutes:\n\n%(link)s\n\nIf it was not you, ignore this message.")


@dataclass
class Delivery:
    """A message to send once the transaction that made its code has committed."""

    channel: str
    address: str
    subject: str
    text: str

    def send(self) -> bool:
        """Hand the message to its gateway; False when it failed (the gateway logs why)."""
        if self.channel == "sms":
            return send_sms(self.address, self.text)
        return send_mail(self.address, self.subject, self.text)


def request_reset(identifier: str, *, now: datetime, minutes: int) -> Delivery | None:
    """Make a code (mobile) or link (email) for the account with this identifier, if there is one."""
    value = normalize_identifier(identifier)
    begin_write(db.session)
    user = find_by_identifier(value) if value else None
    if user is None or not user.is_active or user.closed_at is not None:
        return None
    expires_at = now + timedelta(minutes=minutes)
    _expire_open_resets(user.id, ("sms", "email"), now=now)
    with force_locale(user.locale or "zh_CN"):
        if "@" in value and user.email:  # found by its email, else by its mobile
            token, hashed = new_token()
            db.session.add(PasswordReset(user_id=user.id, channel="email", token_hash=hashed, created_at=now,
                                         expires_at=expires_at))
            link = public_url("recovery.reset_with_link", token=token)
            return Delivery("email", user.email, str(MAIL_SUBJECT), str(MAIL_TEXT) % {"minutes": minutes,
                                                                                        "link": link})
        if not user.mobile:
            return None
        code = new_code()
        db.session.add(PasswordReset(user_id=user.id, channel="sms", code_hash=code_hash(user.id, code),
                                     created_at=now, expires_at=expires_at))
        return Delivery("sms", user.mobile, "", str(SMS_TEXT) % {"code": code, "minutes": minutes})


def _expire_open_resets(user_id: int, channels: tuple[str, ...], *, now: datetime) -> None:
    """A new code replaces the earlier ones: only the latest works."""
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.channel.in_(channels),
               PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(expires_at=now)
    )


def reset_with_code(mobile: str, code: str, new_password: str, *, now: datetime, max_attempts: int) -> User | None:
    """Set a new password with the SMS code; None when the code is wrong, spent, expired or tried
    too often (the try is counted: the caller commits either way)."""
    mobile = normalize_mobile(mobile)
    check_password_rules(new_password, mobile=mobile)
    begin_write(db.session)
    user = db.session.scalar(select(User).where(User.mobile == mobile)) if is_mobile(mobile) else None
    reset = db.session.scalar(
        select(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.channel == "sms", PasswordReset.used_at.is_(None),
               PasswordReset.expires_at > now)
        .order_by(PasswordReset.id.desc()).limit(1)
    ) if user is not None and user.is_active else None
    if user is None or reset is None:
        return None
    # Count the try before comparing, atomically: parallel guesses cannot exceed the limit.
    counted = _changed(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.attempts < max_attempts, PasswordReset.used_at.is_(None))
        .values(attempts=PasswordReset.attempts + 1)
    )
    if not counted or not codes_match(user.id, code, reset.code_hash):
        return None
    if not _claim(reset.id, now=now):
        return None
    _finish_reset(user, new_password, "sms", now=now)
    return user


def find_link(token: str, *, now: datetime) -> PasswordReset | None:
    """The unused, unexpired link-type reset for this token, or None."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= now or not reset.user.is_active:
        return None
    return reset


def reset_with_link(token: str, new_password: str, *, now: datetime) -> User:
    """Set a new password through an email or admin-issued link."""
    begin_write(db.session)
    reset = find_link(token, now=now)
    if reset is None:
        raise Invalid(LINK_INVALID)
    user = reset.user
    check_password_rules(new_password, mobile=user.mobile)
    if not _claim(reset.id, now=now):
        raise Invalid(LINK_INVALID)
    _finish_reset(user, new_password, reset.channel, now=now)
    return user


def _claim(reset_id: int, *, now: datetime) -> bool:
    return bool(_changed(
        update(PasswordReset).where(PasswordReset.id == reset_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    ))


def _changed(statement: Update) -> int:
    """How many rows a conditional UPDATE changed (0: its condition no longer held)."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount


def _finish_reset(user: User, new_password: str, channel: str, *, now: datetime) -> None:
    """The new password; every session, code, link and invitation of the person ends."""
    user.password_hash = hash_password(new_password)
    end_other_sessions(user, keep_token=None, now=now)
    db.session.execute(
        update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    spend_open_invitations(user.id, now=now)
    record_event(user, "password.reset", user, channel=channel)
    notify(user, "account.password_reset", f"password.reset:{user.id}:{now.isoformat()}",
           _l("Your password was reset"),
           _l("If you did not do this, tell your union administrator at once."), link="/me",
           facts={"channel": channel}, now=now)


def may_reset(actor: Any, person: User, union: TradeUnion) -> bool:
    """Whether ``actor`` (who manages ``union``) may hand out a reset link for ``person``: the link
    gives its holder the account, so only for an active member of that union's subtree whose roles
    the actor could exercise anyway: teaching for a union the actor manages, administering a union
    strictly below one the actor administers. A site administrator's account, a fellow or a
    superior administrator's, or an instructor's elsewhere is reset by a site administrator."""
    if actor.is_site_admin:
        return True
    active_here = db.session.scalar(
        select(Membership.id).join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.user_id == person.id, Membership.status == MembershipStatus.ACTIVE,
               TradeUnion.path.startswith(union.path, autoescape=True)))
    if active_here is None:
        return False
    below = scope.admin_paths(actor) or []

    def within(grant: RoleGrant) -> bool:
        if grant.role == Role.INSTRUCTOR:
            return scope.can_manage_union(actor, grant.union)
        return grant.role == Role.UNION_ADMIN and any(
            grant.union.path.startswith(path) and grant.union.path != path for path in below)

    return all(within(grant) for grant in person.grants)


def issue_reset_link(person: User, *, actor: Any, union: TradeUnion, now: datetime) -> str:
    """A union admin's reset link for a member in scope (audited); returns the link."""
    if not person.is_active or person.closed_at is not None:
        raise Conflict(_l("This account is disabled or closed."))
    if not may_reset(actor, person, union):
        raise NotAllowed(_l("Only a site administrator can reset this account's password: it holds roles "
                            "beyond this union, or is not an active member here."))
    begin_write(db.session)
    _expire_open_resets(person.id, ("admin",), now=now)
    token, hashed = new_token()
    db.session.add(PasswordReset(user_id=person.id, channel="admin", token_hash=hashed, created_by_id=actor.id,
                                 created_at=now, expires_at=now + timedelta(hours=ADMIN_LINK_HOURS)))
    record_event(actor, "password.reset_link", person, union_id=union.id)
    return public_url("recovery.reset_with_link", token=token)

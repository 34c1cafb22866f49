"""Personal-data rights (PIPL): consents, the download of one's own data, closing the account.

Features add their part without the shell importing them:
a feature's ``init_app`` adds ``section(user) -> JSON-able`` to the registry's ``data_sections`` (a part of the
download) and ``erasure(user, now)`` to its ``erasures`` (run when an account closes),
before the profile itself is erased, inside the same transaction. An erasure keeps the rows
others rely on (hours totals, certificates issued) and removes the personal data in them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, Text, and_, cast, delete, exists, or_, select, update

from classroom.accounts.models import Consent, Invitation, LoginSession, PasswordReset, RoleGrant, User
from classroom.accounts.services import PRIVACY_NOTICE
from classroom.audit import AuditEvent, record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.personal_data import decrypt
from classroom.registry import registry
from classroom.security import verify_password
from classroom.unions.memberships import ID_CARD_CONSENT
from classroom.unions.models import Membership, MembershipStatus, TradeUnion

ERASED = "[erased]"
CONSENT_LABELS = {PRIVACY_NOTICE: _l("Privacy notice"), ID_CARD_CONSENT: _l("Storing my ID card number")}


# ---- consents ---------------------------------------------------------------------------

def consents_of(user: User) -> Select:
    """SELECT of the person's consents, newest first."""
    return select(Consent).where(Consent.user_id == user.id).order_by(Consent.given_at.desc(), Consent.id.desc())


def consent_of(user: User, consent_id: int) -> Consent | None:
    """One of the person's own consents, or None (another person's is never found)."""
    return db.session.scalar(select(Consent).where(Consent.id == consent_id, Consent.user_id == user.id))


def withdraw_consent(user: User, consent: Consent, *, now: datetime) -> None:
    """Withdraw one consent; the ID-card consent takes the stored ID-card data with it."""
    begin_write(db.session)
    if consent.user_id != user.id or consent.withdrawn_at is not None:
        raise Conflict(_l("This consent is already withdrawn."))
    if consent.what == PRIVACY_NOTICE:
        raise Conflict(_l("Your account rests on your consent to the privacy notice: to withdraw it, close your "
                          "account."))
    if consent.what == ID_CARD_CONSENT:
        _erase_id_cards(user.id)
    consent.withdrawn_at = now
    record_event(user, "consent.withdraw", consent, what=consent.what, version=consent.version)


def needs_privacy_consent(user_id: int, version: str) -> bool:
    """True when the person agreed to an earlier notice, or came by invitation, but has no live
    consent to this version. (Accounts made by create-admin never agreed to any: not stopped.)"""
    current = exists().where(Consent.user_id == user_id, Consent.what == PRIVACY_NOTICE,
                             Consent.version == version, Consent.withdrawn_at.is_(None))
    earlier = exists().where(Consent.user_id == user_id, Consent.what == PRIVACY_NOTICE)
    invited = exists().where(Invitation.user_id == user_id)
    return bool(db.session.scalar(select(and_(~current, or_(earlier, invited)))))


def give_privacy_consent(user: User, version: str, *, now: datetime) -> None:
    """The person agrees to this version of the privacy notice."""
    begin_write(db.session)
    db.session.add(Consent(user_id=user.id, what=PRIVACY_NOTICE, version=version, given_at=now))


# ---- the download -----------------------------------------------------------------------

def personal_data(user: User, *, now: datetime) -> dict[str, Any]:
    """Everything the platform keeps about this person, section by section."""
    return {"format": "worker-classroom/personal-data/1", "exported_at": now.isoformat(), "user_id": user.id,
            **{name: section(user) for name, section in registry().data_sections.items()}}


def personal_data_json(user: User, *, now: datetime) -> str:
    """The download as a JSON document."""
    return json.dumps(personal_data(user, now=now), ensure_ascii=False, indent=2, default=_json_default)


def record_download(user: User) -> None:
    """Audit the person's download of their data (once it is made: then the write lock is taken)."""
    begin_write(db.session)
    record_event(user, "privacy.export", user)


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _profile(user: User) -> dict:
    names = ("real_name", "mobile", "email", "employer", "trade", "skill_level", "years_in_trade", "birth_year",
             "worker_group", "locale", "timezone", "notification_prefs", "created_at", "last_login_at")
    return {name: getattr(user, name) for name in names}


def _memberships(user: User) -> list[dict]:
    rows = db.session.execute(
        select(Membership, TradeUnion.name, TradeUnion.code).join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.user_id == user.id).order_by(Membership.applied_at)
    ).all()
    return [{"union": name, "union_code": code, "status": m.status, "member_no": m.member_no,
             "applied_at": m.applied_at, "decided_at": m.decided_at, "started_at": m.started_at,
             "ended_at": m.ended_at, "reason": m.reason, "id_card": _id_card(m)} for m, name, code in rows]


def _id_card(membership: Membership) -> str | None:
    if membership.id_card_encrypted is None:
        return None
    try:
        return decrypt(membership.id_card_encrypted)
    except Exception:  # noqa: BLE001 - a rotated key: the masked form is what remains readable
        return membership.id_card_masked


def _consents(user: User) -> list[dict]:
    return [{"what": c.what, "version": c.version, "given_at": c.given_at, "withdrawn_at": c.withdrawn_at}
            for c in db.session.scalars(consents_of(user))]


def _notifications(user: User) -> list[dict]:
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    return [{"kind": n.kind, "title": n.title, "body": n.body, "link": n.link, "created_at": n.created_at,
             "read_at": n.read_at} for n in rows]


def _login_sessions(user: User) -> list[dict]:
    rows = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id))
    return [{"created_at": s.created_at, "last_seen_at": s.last_seen_at, "ip": s.ip, "user_agent": s.user_agent,
             "revoked_at": s.revoked_at} for s in rows]


def _about(user: User):
    """SQL: audit events by the person, or about the person or their memberships."""
    membership_ids = select(Membership.id).where(Membership.user_id == user.id)
    return or_(AuditEvent.actor_id == user.id,
               and_(AuditEvent.object_type == "User", AuditEvent.object_id == user.id),
               and_(AuditEvent.object_type == "Membership", AuditEvent.object_id.in_(membership_ids)))


def _audit_events(user: User) -> list[dict]:
    rows = db.session.scalars(select(AuditEvent).where(_about(user)).order_by(AuditEvent.id))
    return [{"action": e.action, "by": "you" if e.actor_id == user.id else "administrator",
             "object_type": e.object_type, "object_id": e.object_id, "union_id": e.union_id,
             "ip": e.ip if e.actor_id == user.id else None, "created_at": e.created_at, "data": e.data}
            for e in rows]


# The shell's own parts of the download (features add theirs): added by ``classroom.accounts.init_app``.
SHELL_SECTIONS = {"profile": _profile, "memberships": _memberships, "consents": _consents,
                  "notifications": _notifications, "login_sessions": _login_sessions, "audit_events": _audit_events}


# ---- closing the account ----------------------------------------------------------------

def close_account(user: User, password: str, *, now: datetime) -> None:
    """Check the password, then erase the person (audited): they can no longer log in."""
    if not verify_password(user.password_hash, password):
        raise Invalid(_l("The password is not right."), field="password")
    begin_write(db.session)
    record_event(user, "account.close", user)
    erase_person(user, now=now)


def erase_person(user: User, *, now: datetime) -> None:
    """Erase or pseudonymize the personal fields; keep the rows others rely on, without them."""
    secrets = [value for value in (user.real_name, user.mobile, user.email) if value]
    for erasure in registry().erasures:
        erasure(user, now)
    _erase_id_cards(user.id)
    db.session.execute(
        update(Membership).where(Membership.user_id == user.id).values(reason=None)
    )
    db.session.execute(
        update(Membership)
        .where(Membership.user_id == user.id,
               Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.APPLIED]))
        .values(status=MembershipStatus.LAPSED, ended_at=now)
    )
    _scrub_audit(user, secrets)
    for model in (Notification, LoginSession, Invitation, PasswordReset, RoleGrant):
        db.session.execute(delete(model).where(model.user_id == user.id))
    db.session.execute(update(Consent).where(Consent.user_id == user.id, Consent.withdrawn_at.is_(None))
                       .values(withdrawn_at=now))
    _erase_profile(user, now=now)


def _erase_id_cards(user_id: int) -> None:
    db.session.execute(update(Membership).where(Membership.user_id == user_id)
                       .values(id_card_encrypted=None, id_card_hash=None, id_card_masked=None))


def _erase_profile(user: User, *, now: datetime) -> None:
    for name in ("mobile", "email", "employer", "trade", "skill_level", "years_in_trade", "birth_year",
                 "worker_group", "password_hash", "last_login_at"):
        setattr(user, name, None)
    user.real_name = f"已注销用户#{user.id}"
    user.notification_prefs = {}
    user.is_active = False
    user.closed_at = now
    db.session.flush()


def _scrub_audit(user: User, secrets: list[str]) -> None:
    """Audit rows stay; the person's name, mobile and email leave their data, and the addresses
    they acted from are dropped."""
    text = cast(AuditEvent.data, Text)
    mentions = [text.contains(form, autoescape=True) for value in secrets
                for form in {value, json.dumps(value)[1:-1]}]
    events = db.session.scalars(select(AuditEvent).where(or_(_about(user), *mentions))).all()
    for event in events:
        event.data = _scrubbed(event.data or {}, secrets)
        if event.actor_id == user.id:
            event.ip = None


def _scrubbed(value, secrets: list[str]):
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, ERASED)
        return value
    if isinstance(value, list):
        return [_scrubbed(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, secrets) for key, item in value.items()}
    return value

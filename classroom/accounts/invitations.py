"""Accepting an invitation: an imported person sets their own password through the single-use link a member
import made for them (classroom.unions.invitations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, select, update

from classroom.accounts.models import Consent, Invitation, User
from classroom.accounts.services import PRIVACY_NOTICE, check_password_rules, end_other_sessions
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict
from classroom.extensions import db
from classroom.security import hash_password
from classroom.tokens import token_hash

INVITATION_INVALID = _l("This invitation is not valid any more. Ask your union for a new one.")


def find_invitation(token: str, *, now: datetime) -> Invitation | None:
    """The open, unexpired invitation of an active account for this token, or None."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        return None
    if not invitation.user.is_active or invitation.user.closed_at is not None:
        return None
    return invitation


def accept_invitation(token: str, password: str, *, consent_version: str, now: datetime) -> User:
    """Set the invited person's password, record their consent; the link is then spent."""
    begin_write(db.session)
    invitation = find_invitation(token, now=now)
    if invitation is None:
        raise Conflict(INVITATION_INVALID)
    user = invitation.user
    check_password_rules(password, mobile=user.mobile)
    claimed = cast(CursorResult[Any], db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.used_at.is_(None)).values(used_at=now)
    )).rowcount
    if not claimed:
        raise Conflict(INVITATION_INVALID)
    spend_open_invitations(user.id, now=now)
    user.password_hash = hash_password(password)
    end_other_sessions(user, keep_token=None, now=now)
    db.session.add(Consent(user_id=user.id, what=PRIVACY_NOTICE, version=consent_version, given_at=now))
    record_event(user, "invitation.accept", user)
    return user


def spend_open_invitations(user_id: int, *, now: datetime) -> None:
    """Once a person has a password, no older link may set it again."""
    db.session.execute(
        update(Invitation).where(Invitation.user_id == user_id, Invitation.used_at.is_(None)).values(used_at=now)
    )

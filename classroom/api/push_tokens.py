"""Push tokens of signed-in devices, kept for a push gateway to come: one per device, each token on one device
only, never used once its device is signed out, and deleted when the account closes."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError

from classroom.accounts.models import User
from classroom.api.models import ApiDevice, ApiPushToken
from classroom.database import begin_write
from classroom.domain import Conflict
from classroom.extensions import db


def register_push_token(device_id: int, *, platform: str, token: str, now: datetime) -> ApiPushToken:
    """Keep ``token`` as the device's push token (replacing its earlier one); a device that held the same token
    before (the phone was signed in as someone else) loses it."""
    begin_write(db.session)
    db.session.execute(delete(ApiPushToken).where(ApiPushToken.token == token, ApiPushToken.device_id != device_id))
    row = db.session.scalar(select(ApiPushToken).where(ApiPushToken.device_id == device_id))
    if row is None:
        row = ApiPushToken(device_id=device_id, created_at=now)
        db.session.add(row)
    row.platform, row.token, row.updated_at = platform, token, now
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same token or device registered by another request at this moment
        raise Conflict(_l("This push token was registered by another request at the same moment. Try again.")) \
            from None
    return row


def forget_push_token(device_id: int) -> None:
    """The device receives no push messages any more."""
    db.session.execute(delete(ApiPushToken).where(ApiPushToken.device_id == device_id))


def push_targets(user_id: int) -> Select[ApiPushToken]:
    """SELECT of the push tokens a message to the person goes to: those of their devices still signed in."""
    return (select(ApiPushToken).join(ApiDevice, ApiDevice.id == ApiPushToken.device_id)
            .where(ApiDevice.user_id == user_id, ApiDevice.revoked_at.is_(None)))


def erase_push_tokens(user: User, now: datetime) -> None:
    """Closing an account: its devices' push tokens are deleted."""
    db.session.execute(delete(ApiPushToken).where(ApiPushToken.device_id.in_(
        select(ApiDevice.id).where(ApiDevice.user_id == user.id))))

"""One-click unsubscribe links (RFC 8058): every notification email names a signed link for its kind and
its person (the page: ``unsubscribe_views``)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from classroom.http import public_url

SALT = "notifications.unsubscribe"
DIGEST = "digest"  # the daily and weekly digest emails: every kind held for them


def _serializer() -> URLSafeSerializer:
    """The app's signer of these links (made once per secret key: an email each needs one)."""
    key = current_app.config["SECRET_KEY"]
    made = current_app.extensions.get("unsubscribe_serializer")
    if made is None or made[0] != key:
        made = current_app.extensions["unsubscribe_serializer"] = (key, URLSafeSerializer(key, salt=SALT))
    return made[1]


def token_for(user_id: int, kind: str) -> str:
    """The signed token naming this person and this kind."""
    return _serializer().dumps([user_id, kind])


def unsubscribe_url(user_id: int, kind: str) -> str:
    """The absolute one-click link for this person's emails of this kind."""
    return public_url("unsubscribe.one_click", token=token_for(user_id, kind))


def read_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) from a token we signed; None for anything else."""
    try:
        value = _serializer().loads(token)
    except BadData:
        return None
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int and isinstance(value[1], str)
            and 0 < len(value[1]) <= 40):
        return None
    return value[0], value[1]

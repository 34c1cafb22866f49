"""The worker's notifications (the bell): a cursor list, marking read, the unread count; this device's push
token for a push gateway to come; and the notification preferences of /me/notifications/settings (each kind's
channels and email cadence, the quiet hours), read with an ETag and changed with If-Match."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from classroom.accounts.models import User
from classroom.api.door import owned, run
from classroom.api.models import PUSH_PLATFORMS
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person, current_principal
from classroom.api.push_tokens import forget_push_token, register_push_token
from classroom.api.schemas import CursorArgs, instant, one_of, page_of, text
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications import preferences
from classroom.notifications.kinds import kinds
from classroom.notifications.models import Notification
from classroom.notifications.services import feed, mark_read, unread_count

bp = ApiBlueprint("api_notifications", __name__, url_prefix="/api/v1",
                  description="The worker's notifications, this device's push token, and notification preferences.")


def _known_kind(value: str) -> None:
    """A kind of this app's notifications (features add theirs when the app starts)."""
    if value not in kinds():
        raise ValidationError(str(_l("Not a kind of notification.")))


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String(required=True, allow_none=True, metadata={"description": "A path of the site, if any."})
    created_at = instant(required=True)
    read_at = instant(required=True, allow_none=True)


class NotificationArgs(CursorArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only the unread ones."})


class UnreadSchema(Schema):
    unread = fields.Integer(required=True)


class MarkedSchema(Schema):
    marked = fields.Integer(required=True, metadata={"description": "How many were unread."})


class PushTokenSchema(Schema):
    platform = one_of(PUSH_PLATFORMS, required=True)
    token = fields.String(required=True, validate=validate.Length(
        min=1, max=512, error=_l("A push token is 1 to 512 characters.")))
    updated_at = instant(dump_only=True)


class ChoiceSchema(Schema):
    kind = fields.String(required=True, validate=_known_kind)
    label = fields.String(dump_only=True)
    email = fields.Boolean(required=True)
    sms = fields.Boolean(required=True)
    cadence = one_of(preferences.CADENCES, required=True, metadata={"description": "Of the emails."})


class ChoiceChangeSchema(ChoiceSchema):
    email = fields.Boolean()
    sms = fields.Boolean()
    cadence = one_of(preferences.CADENCES)


class PreferencesSchema(Schema):
    kinds = fields.List(fields.Nested(ChoiceSchema), required=True)
    quiet_hours = fields.String(required=True, metadata={"description": "22:00-07:00, or empty for none."})


class PreferencesChangeSchema(Schema):
    kinds = fields.List(fields.Nested(ChoiceChangeSchema), metadata={"description": "Only the kinds to change."})
    quiet_hours = text(11)


@bp.route("/notifications")
@bp.auth(person=True)
@bp.etag
@bp.arguments(NotificationArgs, location="query")
@bp.response(200, page_of(NotificationSchema, "NotificationPage"))
def index(args: dict):
    """The worker's notifications, newest first (only the unread ones with ?unread=true)."""
    statement = feed(current_person().id)
    if args["unread"]:
        statement = statement.where(Notification.read_at.is_(None))
    page = cursor_page(statement, (Notification.created_at, Notification.id), lambda row: (row.created_at, row.id),
                       limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/notifications/unread-count")
@bp.auth(person=True)
@bp.etag
@bp.response(200, UnreadSchema)
def unread():
    """How many notifications are unread (the bell's number)."""
    return {"unread": unread_count(current_person().id)}


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@bp.auth(person=True)
@bp.response(200, NotificationSchema)
def read(notification_id: int):
    """Mark one of the worker's notifications read (another's is a 404)."""
    person = current_person()
    notification = owned(Notification, notification_id, user_id=person.id)
    run(lambda: mark_read(person.id, notification.id, now=utcnow()))
    return db.session.scalars(select(Notification).where(Notification.id == notification_id)
                              .execution_options(populate_existing=True)).one()


@bp.route("/notifications/read-all", methods=["POST"])
@bp.auth(person=True)
@bp.response(200, MarkedSchema)
def read_all():
    """Mark every unread notification read."""
    person_id = current_person().id
    return {"marked": run(lambda: mark_read(person_id, now=utcnow()))}


@bp.route("/notifications/push-token", methods=["PUT"])
@bp.auth(person=True)
@bp.problems(409)
@bp.arguments(PushTokenSchema)
@bp.response(200, PushTokenSchema)
def put_push_token(data: dict):
    """Keep this device's push token (for a push gateway to come); it replaces the device's earlier one."""
    device_id = current_principal().device_id or 0
    return run(lambda: register_push_token(device_id, platform=data["platform"], token=data["token"], now=utcnow()))


@bp.route("/notifications/push-token", methods=["DELETE"])
@bp.auth(person=True)
@bp.response(204)
def delete_push_token():
    """This device receives no push messages any more."""
    device_id = current_principal().device_id or 0
    run(lambda: forget_push_token(device_id))


@bp.route("/me/notification-preferences")
@bp.auth(person=True)
@bp.etag
@bp.response(200, PreferencesSchema)
def show_preferences():
    """Each kind's channels and email cadence, and the quiet hours (with the ETag for If-Match)."""
    return preferences_of(current_person())


@bp.route("/me/notification-preferences", methods=["PATCH"])
@bp.auth(person=True)
@bp.etag
@bp.arguments(PreferencesChangeSchema)
@bp.response(200, PreferencesSchema)
def change_preferences(data: dict):
    """Change some kinds' channels or cadence, or the quiet hours (If-Match: the ETag last read)."""
    person = current_person()
    current = preferences_of(person)
    bp.check_etag(current, PreferencesSchema)
    rows = {row["kind"]: row for row in current["kinds"]}
    choices = {change["kind"]: {**rows[change["kind"]], **change} for change in data.get("kinds", [])}
    run(lambda: preferences.save(person, choices, data.get("quiet_hours", current["quiet_hours"])))
    return preferences_of(person)


def preferences_of(person: User) -> dict:
    """The preferences as the page shows them: saved choices, else each kind's defaults."""
    quiet = (person.notification_prefs or {}).get("quiet_hours", current_app.config["QUIET_HOURS"])
    return {"kinds": [{**row, "label": str(row["label"])} for row in preferences.table(person)],
            "quiet_hours": quiet}

"""/api/v1/me: the signed-in worker's profile, read with its ETag and changed with If-Match (the same
profile rules as the settings page)."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from classroom.accounts.models import WORKER_GROUPS
from classroom.accounts.services import update_profile
from classroom.api.door import run
from classroom.api.principal import current_person
from classroom.api.schemas import at_most, instant, one_of, text, whole_number
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow

bp = ApiBlueprint("api_me", __name__, url_prefix="/api/v1/me", description="The signed-in worker's own profile.")
LANGUAGES = ("zh_CN", "en")


class MeSchema(Schema):
    id = fields.Integer(required=True)
    real_name = fields.String(required=True)
    mobile = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    employer = fields.String(required=True, allow_none=True)
    trade = fields.String(required=True, allow_none=True)
    skill_level = fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "5 (junior) … 1 (senior technician); set by certificates."})
    years_in_trade = fields.Integer(required=True, allow_none=True)
    birth_year = fields.Integer(required=True, allow_none=True)
    worker_group = fields.String(required=True, allow_none=True, metadata={"enum": [*WORKER_GROUPS, None]})
    locale = fields.String(required=True, data_key="language", metadata={"enum": list(LANGUAGES)})
    timezone = fields.String(required=True, metadata={"description": "An IANA name, e.g. Asia/Shanghai."})
    created_at = instant(required=True)


class MeChangeSchema(Schema):
    email = fields.Email(allow_none=True, validate=at_most(254))
    employer = text(100, allow_none=True)
    trade = text(50, allow_none=True)
    years_in_trade = whole_number(0, 60, allow_none=True)
    birth_year = whole_number(1930, 2100, allow_none=True)
    worker_group = one_of(WORKER_GROUPS, allow_none=True)
    locale = one_of(LANGUAGES, data_key="language")
    timezone = text(50)


@bp.route("")
@bp.auth(person=True)
@bp.etag
@bp.response(200, MeSchema)
def show():
    """The worker's profile (with its ETag: send it back in If-Match to change it)."""
    return current_person()


@bp.route("", methods=["PATCH"])
@bp.auth(person=True)
@bp.etag
@bp.arguments(MeChangeSchema)
@bp.response(200, MeSchema)
def change(data: dict):
    """Change profile fields (If-Match: the ETag last read; 412 when it changed meanwhile)."""
    user = current_person()
    bp.check_etag(user, MeSchema)
    run(lambda: update_profile(user, languages=current_app.config["LANGUAGES"], now=utcnow(), **data))
    return user

"""Registering through the union's app, as /auth/register does: mobile, password, real name, the privacy
notice's consent and a grassroots union to apply to (the page's rules, and its per-address limit counted
together with it); the new account's device is signed in at once. The union picker's search is public too."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields

from classroom.accounts.services import register_user
from classroom.api.auth_api import TokenPairSchema, token_answer
from classroom.api.door import run
from classroom.api.schemas import at_most, text, whole_number
from classroom.api.spec import ApiBlueprint
from classroom.api.tokens import open_device
from classroom.database import utcnow
from classroom.extensions import db, limiter
from classroom.forms import MAX_INT
from classroom.i18n import locale_code
from classroom.unions.models import TradeUnion
from classroom.unions.union_search import union_choices

bp = ApiBlueprint("api_register", __name__, url_prefix="/api/v1/auth",
                  description="Registering an account from the union's app, and finding a grassroots union.")
REGISTER_SCOPE = "auth.register"  # the page's endpoint: both doors count against the same per-address budget


def _filled(value: str) -> None:
    if not value.strip():
        raise ValidationError(str(_l("This field is required.")))


def _consented(value: bool) -> None:
    if value is not True:
        raise ValidationError(str(_l("Registration needs your consent to the privacy notice.")))


class RegistrationSchema(Schema):
    mobile = text(30, required=True, metadata={"description": "An 11-digit mainland mobile number."})
    password = text(256, required=True, load_only=True, metadata={"description": "At least 8 characters; not a "
                                                                                 "common password."})
    real_name = fields.String(required=True, validate=[_filled, at_most(50)])
    consent = fields.Boolean(required=True, validate=_consented,
                             metadata={"description": "Agreement to the privacy notice: must be true."})
    union_id = whole_number(1, MAX_INT, required=True, metadata={
        "description": "The grassroots union to apply to (GET /api/v1/auth/unions)."})
    device_name = text(100, required=True, metadata={"description": "Shown to the person on /me/devices."})


class UnionSearchArgs(Schema):
    q = text(100, load_default="", metadata={"description": "Words of the union's name, employer or code."})


class UnionChoiceSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"description": "The union's name and the union above it."})


class UnionChoicesSchema(Schema):
    items = fields.List(fields.Nested(UnionChoiceSchema), required=True)


@bp.route("/register", methods=["POST"])
@limiter.shared_limit(lambda: current_app.config["REGISTER_LIMIT_PER_IP"], REGISTER_SCOPE, methods=["POST"],
                      override_defaults=False)
@bp.problems(409)
@bp.arguments(RegistrationSchema)
@bp.response(201, TokenPairSchema)
def register(data: dict):
    """Create an account and apply to the chosen union (it waits for the union's approval); this device is
    signed in with the new account's first tokens."""
    now = utcnow()

    def registered():
        user = register_user(real_name=data["real_name"], mobile=data["mobile"], password=data["password"],
                             union=db.session.get(TradeUnion, data["union_id"]), locale=locale_code(),
                             consent_version=current_app.config["PRIVACY_NOTICE_VERSION"], now=now)
        return open_device(user, data["device_name"], ip=request.remote_addr, now=now)

    return token_answer(run(registered), now)


@bp.route("/unions")
@limiter.limit("120 per minute", override_defaults=False)
@bp.arguments(UnionSearchArgs, location="query")
@bp.response(200, UnionChoicesSchema)
def unions(args: dict):
    """Grassroots unions whose name, employer or code holds the words (at most 50): the picker of registering
    and applying. No credentials needed."""
    return {"items": [{"id": union_id, "label": label} for union_id, label in union_choices(args["q"])]}

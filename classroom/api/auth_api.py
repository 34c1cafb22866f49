"""/api/v1/auth: a worker's app signs in with mobile and password (the page log-in's check and its rate
limits, counted together with it), refreshes its tokens, and signs out."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request
from marshmallow import Schema, fields

from classroom.accounts.services import authenticate
from classroom.accounts.views import TOO_MANY_FOR_ACCOUNT, TOO_MANY_FROM_HERE
from classroom.api.door import run
from classroom.api.principal import current_principal
from classroom.api.problems import Problem
from classroom.api.schemas import text
from classroom.api.spec import ApiBlueprint
from classroom.api.tokens import IssuedTokens, open_device, rotate, sign_out
from classroom.database import utcnow
from classroom.extensions import limiter
from classroom.personal_data import normalize_identifier

bp = ApiBlueprint("api_auth", __name__, url_prefix="/api/v1/auth",
                  description="Tokens for the union's apps: sign in a device, refresh its tokens, sign out.")
LOGIN_SCOPE = "auth.login"  # the page log-in's endpoint: both doors count failures in the same buckets


class SignInSchema(Schema):
    mobile = text(254, required=True, metadata={"description": "The mobile number (or email) of the account."})
    password = text(128, required=True, load_only=True)
    device_name = text(100, required=True, metadata={"description": "Shown to the person on /me/devices."})


class RefreshSchema(Schema):
    refresh_token = text(200, required=True, load_only=True)


class TokenPairSchema(Schema):
    token_type = fields.String(required=True, metadata={"description": "Always Bearer."})
    access_token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds the access token lives."})
    refresh_token = fields.String(required=True, metadata={"description": "Exchange it once, for the next pair."})
    refresh_expires_in = fields.Integer(required=True)
    device_id = fields.Integer(required=True)


def _identifier_key() -> str:
    body = request.get_json(silent=True)
    mobile = body.get("mobile") if isinstance(body, dict) else None
    return "login-id:" + normalize_identifier(mobile if isinstance(mobile, str) else "")[:254]


def _failed(response) -> bool:
    return response.status_code != 200


def _per_identifier() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IDENTIFIER"]


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def token_answer(issued: IssuedTokens, now: datetime) -> dict:
    """The token endpoint's answer for a device's fresh pair."""
    return {"token_type": "Bearer", "access_token": issued.access_token, "refresh_token": issued.refresh_token,
            "expires_in": round((issued.access_expires_at - now).total_seconds()),
            "refresh_expires_in": round((issued.refresh_expires_at - now).total_seconds()),
            "device_id": issued.device.id}


@bp.route("/token", methods=["POST"])
@limiter.shared_limit(_per_identifier, LOGIN_SCOPE, key_func=_identifier_key, methods=["POST"], deduct_when=_failed,
                      error_message=lambda: str(TOO_MANY_FOR_ACCOUNT), override_defaults=False)
@limiter.shared_limit(_per_address, LOGIN_SCOPE, methods=["POST"], deduct_when=_failed,
                      error_message=lambda: str(TOO_MANY_FROM_HERE), override_defaults=False)
@bp.problems(401)
@bp.arguments(SignInSchema)
@bp.response(200, TokenPairSchema)
def token(data: dict):
    """Sign in a device: an access token (minutes) and a refresh token (days)."""
    now = utcnow()
    user = run(lambda: authenticate(data["mobile"], data["password"], now=now))
    if user is None:
        raise Problem("login-failed")
    return token_answer(run(lambda: open_device(user, data["device_name"], ip=request.remote_addr, now=now)), now)


@bp.route("/refresh", methods=["POST"])
@bp.problems(401)
@bp.arguments(RefreshSchema)
@bp.response(200, TokenPairSchema)
def refresh(data: dict):
    """Exchange a refresh token for the next pair. A refresh token used twice signs its device out."""
    now = utcnow()
    issued = run(lambda: rotate(data["refresh_token"], now=now))
    if issued is None:
        raise Problem("invalid-token")
    return token_answer(issued, now)


@bp.route("/logout", methods=["POST"])
@bp.auth(person=True)
@bp.response(204)
def logout():
    """Sign this device out: its access and refresh tokens are refused from now on."""
    principal = current_principal()
    if principal.device_id is not None and principal.person_id is not None:
        device_id, user_id = principal.device_id, principal.person_id
        run(lambda: sign_out(device_id, user_id, now=utcnow()))

"""Public verification, no log-in: by serial (typed) or token (the QR link), as a page or ?format=json;
the published keys; an uploaded Open Badges credential. Rate-limited per address, and nothing here
lists certificates or shows more than the signed document (the holder's name masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from classroom.cache import app_cache
from classroom.chrome import visitor_page
from classroom.cors import allow_any_origin
from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.errors import wants_json
from classroom.extensions import db, limiter
from classroom.http import public_base_url, public_url
from classroom.i18n import locale_code, select_timezone
from courses.certificates import achievements, badges, signing, verification
from courses.certificates.forms import CredentialForm
from courses.certificates.models import Certificate
from courses.certificates.serials import EXAMPLE, parse_serial

bp = Blueprint("verify", __name__, url_prefix="/verify")
DEFAULT_LIMIT = "30 per minute;300 per day"
# Documents for machines: any origin may read them (a verifier in a browser); the look-ups only as JSON.
SHARED_ENDPOINTS = {f"certificates.verify.{name}" for name in ("keys", "key", "issuer", "achievement")}
LOOKUP_ENDPOINTS = {"certificates.verify.index", "certificates.verify.token"}
JWK_MEMBERS = ("kty", "crv", "x", "kid", "alg", "use")


def _only_the_form() -> bool:
    return request.endpoint == "certificates.verify.index" and "serial" not in request.args


# One budget per address for every look-up, so tokens and serials cannot be tried in bulk.
verify_limit = limiter.shared_limit(lambda: current_app.config.get("CERTIFICATE_VERIFY_LIMIT", DEFAULT_LIMIT),
                                    scope="certificate-verify", exempt_when=_only_the_form)


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.cache_control.no_store = True
    if request.endpoint in SHARED_ENDPOINTS or (request.endpoint in LOOKUP_ENDPOINTS and (
            response.is_json or request.method == "OPTIONS")):
        allow_any_origin(response)
    return response


@bp.route("")
@verify_limit
def index() -> ResponseReturnValue:
    typed = request.args.get("serial")
    if typed is None:
        return _form("", None, 200)
    try:
        found = verification.standing(parse_serial(typed), as_token=False)
    except DomainError as error:
        if wants_json():
            return jsonify({"error": {"code": 400, "title": _("Bad request"), "message": str(error)}}), 400
        return _form(typed, str(error), 400)
    if found is None:
        return _form(typed, _("No certificate has this number."), 404) if not wants_json() else _not_found()
    return _show(found)


@bp.route("/<token>")
@verify_limit
def token(token: str) -> ResponseReturnValue:
    """The QR link (/verify/<token>); a serial in its place works too (/verify/ZGXT-2026-0001234-K)."""
    found = verification.standing(token)
    return _show(found) if found is not None else _not_found()


@bp.route("/credential", methods=["POST"])
@verify_limit
def credential() -> ResponseReturnValue:
    form = CredentialForm()
    if not form.validate_on_submit():
        return _form("", None, 400, form=form, credential_error=_("Choose a credential file or paste its text."))
    upload = form.file.data
    text = upload.stream.read(badges.MAX_CREDENTIAL_BYTES + 1).decode("utf-8", "replace") if upload else ""
    text = text or form.text.data or ""
    if not text.strip() or len(text) > badges.MAX_CREDENTIAL_BYTES:
        return _form("", None, 400, form=form, credential_error=_("Choose a credential file or paste its text."))
    check = badges.check_credential(text, now=utcnow())
    return render_template("certificates/credential.html", check=check)


@bp.route("/keys")
def keys() -> ResponseReturnValue:
    """The public keys, current and retired, as a JWK set (each with its PEM)."""
    return jsonify({"keys": signing.published_keys()})


@bp.route("/keys/<kid>")
def key(kid: str) -> ResponseReturnValue:
    """One key as a bare JWK: what a badge's ``kid`` URI dereferences to (OB 3.0, "Dereferencing the Public
    Key", #dereference)."""
    row = signing.key_by_kid(kid)
    if row is None:
        abort(404)
    response = jsonify({name: value for name, value in signing.jwk_of(row).items() if name in JWK_MEMBERS})
    response.mimetype = "application/jwk+json"
    return response


@bp.route("/achievements/<slug>")
@limiter.limit("60 per minute")
def achievement(slug: str) -> ResponseReturnValue:
    """The Open Badges Achievement an achievement id names (course-12, award-3-first …), as JSON-LD."""
    certificate = achievements.certificate_for_slug(slug)
    if certificate is None:
        abort(404)
    described = achievements.achievement_for(certificate, base_url=public_base_url())
    return jsonify({"@context": [badges.VC_CONTEXT, badges.OB_CONTEXT], **described})


@bp.route("/issuer")
def issuer() -> ResponseReturnValue:
    """The Open Badges issuer profile the credentials point to."""
    return jsonify({"@context": [badges.VC_CONTEXT, badges.OB_CONTEXT], "id": public_url("certificates.verify.issuer"),
                    "type": ["Profile"], "name": _("Worker Classroom"), "url": public_base_url(),
                    "description": _("Certificates of the city trade-union federation's worker classroom, "
                                     "verifiable at %(url)s", url=public_url("certificates.verify.index"))})


def _form(typed: str, error: str | None, status: int, form: CredentialForm | None = None,
          credential_error: str | None = None) -> Response:
    page = render_template("certificates/verify.html", serial=typed, error=error, example=EXAMPLE,
                           form=form or CredentialForm(), credential_error=credential_error,
                           keys_url=public_url("certificates.verify.keys"))
    return make_response(page, status)


def _not_found() -> NoReturn:
    abort(404)


def _show(found: verification.Standing) -> ResponseReturnValue:
    """The certificate's public record (JSON) or page. Both are kept per process under what may change (the
    status read just now, revocation and replacement) and, for the page, the reader's language, timezone
    and address; PUBLIC_CACHE_SECONDS bounds what they show of rows outside the certificate."""
    now, seconds = utcnow(), current_app.config["PUBLIC_CACHE_SECONDS"]
    key = found.key(now)
    record, signature_ok = app_cache("certificate-records").get_or_set(key, seconds, lambda: _record(found, now))
    if wants_json():
        return jsonify(record)
    view = (key, locale_code(), select_timezone(), request.full_path)

    def draw() -> str:
        fragment = app_cache("certificate-pages").get_or_set(view, seconds,
                                                             lambda: _fragment(found, record, signature_ok))
        # The page around the record is drawn for each signed-in reader: it holds their own chrome (the care
        # mode, a flashed message, their name); a visitor's is kept whole but for the forms' CSRF tokens.
        return render_template("certificates/public.html", serial=record["serial"], fragment=fragment)

    return visitor_page(key, seconds, draw)


def _record(found: verification.Standing, now: datetime) -> tuple[dict[str, Any], bool]:
    """(the public record, as the standing read says; whether its signature holds)."""
    certificate = db.session.get_one(Certificate, found.id)
    record = verification.public_record(certificate, now=now)
    record.update(status=found.public_status(now), keys=public_url("certificates.verify.keys"),
                  revoked_at=found.revoked_at.isoformat() if found.revoked_at else None,
                  superseded_at=found.superseded_at.isoformat() if found.superseded_at else None)
    return record, verification.signature_holds(certificate)


def _fragment(found: verification.Standing, record: dict[str, Any], signature_ok: bool) -> Markup:
    values: dict[str, Any] = {**request.args.to_dict(), "format": "json", **(request.view_args or {})}
    json_url = url_for(request.endpoint or "certificates.verify.index", **values)
    return Markup(render_template(  # noqa: S704 - our own template
        "certificates/_public_record.html", record=record, certificate=db.session.get_one(Certificate, found.id),
        document=record["certificate"], signature_ok=signature_ok, revoked_at=found.revoked_at,
        superseded_at=found.superseded_at, json_url=json_url))

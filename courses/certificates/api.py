"""Certificates through the API: the holder's own (a list, one, its PDF) as /me/certificates shows them, and
public verification without credentials (by QR token or serial, as /verify answers) with the signing keys;
only the verification endpoints are open to other origins (CORS), and they share the verify pages' budget."""

from __future__ import annotations

from flask import Response, make_response, request, url_for
from marshmallow import Schema, fields

from classroom.api.door import deny
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, instant, page_of
from classroom.api.spec import ApiBlueprint
from classroom.cors import allow_any_origin
from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import public_base_url, public_url
from courses.certificates import kinds, queries, signing, verification
from courses.certificates.models import Certificate, CertificateKind, CertificateStatus
from courses.certificates.pdf import certificate_pdf
from courses.certificates.verify_views import verify_limit

bp = ApiBlueprint("api_certificates", __name__, url_prefix="/api/v1",
                  description="Certificates: the holder's own, and public verification with the signing keys.")
PUBLIC = {"api_certificates.verify", "api_certificates.keys"}
STATUSES = [*(status.value for status in CertificateStatus), "expired"]


@bp.after_request
def _share_public(response: Response) -> Response:
    if request.endpoint in PUBLIC:
        allow_any_origin(response)
    return response


class CertificateSchema(Schema):
    id = fields.Integer(required=True)
    serial = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [kind.value for kind in CertificateKind]})
    title = fields.Method("title_of", required=True, metadata={"type": "string"})
    course_id = fields.Integer(required=True, allow_none=True)
    status = fields.Method("status_of", required=True, metadata={"type": "string", "enum": STATUSES})
    issued_at = instant(required=True)
    expires_at = instant(required=True, allow_none=True)
    document = fields.Dict(required=True, metadata={"description": "The signed record, as signed."})
    verify_url = fields.Method("verify_url_of", required=True, metadata={
        "type": "string", "description": "The public verification page (its QR code)."})
    pdf_url = fields.Method("pdf_url_of", required=True, metadata={
        "type": "string", "description": "The PDF (GET it with the same Authorization)."})

    def title_of(self, certificate: Certificate) -> str:
        return str(kinds.document_title(kinds.kind_of(certificate)))

    def status_of(self, certificate: Certificate) -> str:
        return certificate.public_status(utcnow())

    def verify_url_of(self, certificate: Certificate) -> str:
        return public_url("certificates.verify.token", token=certificate.token)

    def pdf_url_of(self, certificate: Certificate) -> str:
        return url_for("api_certificates.pdf", certificate_id=certificate.id)


class VerificationSchema(Schema):
    serial = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [kind.value for kind in CertificateKind]})
    title = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": STATUSES})
    signature_valid = fields.Boolean(required=True, metadata={
        "description": "The signature verifies with the published key it names."})
    issuer = fields.Raw(required=True, allow_none=True)
    issued_on = fields.String(required=True, allow_none=True)
    revoked_at = fields.String(required=True, allow_none=True)
    superseded_at = fields.String(required=True, allow_none=True)
    certificate = fields.Dict(required=True, metadata={"description": "The signed record (holder's name masked)."})
    signature = fields.String(required=True)
    alg = fields.String(required=True)
    key_id = fields.String(required=True)
    canonicalization = fields.String(required=True)
    facts = fields.Dict(required=True, metadata={
        "description": "The kind's facts read from the record: course and hours, or competition, event, award."})


class KeySchema(Schema):
    kty = fields.String(required=True)
    crv = fields.String(required=True)
    x = fields.String(required=True)
    kid = fields.String(required=True)
    alg = fields.String(required=True)
    use = fields.String(required=True)
    pem = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    retired_at = fields.String(required=True, allow_none=True)


class KeySetSchema(Schema):
    keys = fields.List(fields.Nested(KeySchema), required=True, metadata={"description": "Newest first."})


@bp.route("/me/certificates")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(CertificateSchema, "CertificatePage"))
def mine(args: dict):
    """The worker's certificates, newest first (valid, expired, revoked or replaced)."""
    page = cursor_page(queries.mine(current_person().id), (Certificate.issued_at, Certificate.id),
                       queries.certificate_key, limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/me/certificates/<int:certificate_id>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, CertificateSchema)
def show(certificate_id: int):
    """One of the worker's certificates (another person's is a 404)."""
    return own(certificate_id)


@bp.route("/me/certificates/<int:certificate_id>/pdf")
@bp.auth(person=True)
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
             description="The certificate as a PDF, with its verification QR code.")
def pdf(certificate_id: int):
    """One of the worker's valid certificates as a PDF (as the certificate page offers it)."""
    certificate = own(certificate_id)
    if certificate.status != CertificateStatus.VALID:
        deny("Certificate", certificate_id)
    body = certificate_pdf(certificate, verify_url=public_url("certificates.verify.token", token=certificate.token),
                           base_url=public_base_url())
    response = make_response(body)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{certificate.serial}.pdf"'
    return response


@bp.route("/certificates/verify/<string(maxlength=64):code>")
@verify_limit
@bp.response(200, VerificationSchema)
def verify(code: str):
    """Public, no credentials: a certificate's standing by its QR token or serial (any origin may ask)."""
    found = verification.standing(code)
    if found is None:
        raise Problem("not-found")
    certificate, now = db.session.get_one(Certificate, found.id), utcnow()
    record = verification.public_record(certificate, now=now)
    facts = {name: value for name, value in kinds.public_fields(certificate).items()
             if name not in VerificationSchema._declared_fields}
    return {**record, "facts": facts, "signature_valid": verification.signature_holds(certificate)}


@bp.route("/certificates/keys")
@bp.response(200, KeySetSchema)
def keys():
    """Public, no credentials: the signing keys, current and retired, as a JWK set (each with its PEM)."""
    return {"keys": signing.published_keys()}


def own(certificate_id: int) -> Certificate:
    """The caller's certificate ``certificate_id``; anyone else's is an audited 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != current_person().id:
        deny("Certificate", certificate_id)
    return certificate

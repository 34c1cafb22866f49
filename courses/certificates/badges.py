"""Open Badges 3.0: a certificate as an OpenBadgeCredential (a W3C Verifiable Credential), secured as a
VC-JWT (VC-JOSE-COSE: the JWT payload is the credential itself), signed EdDSA with the certificate
key; its ``kid`` is listed at /verify/keys. The JSON-LD contexts are bundled (contexts/), never fetched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jwt
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from courses.certificates import services, signing
from courses.certificates.models import Certificate, level_label

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXT_FILES = {VC_CONTEXT: "credentials-v2.jsonld", OB_CONTEXT: "ob-v3p0-context-3.0.3.json"}
CONTEXT_DIR = Path(__file__).resolve().parent / "contexts"
MEDIA_TYPE = "application/vc+jwt"
MAX_CREDENTIAL_BYTES = 64 * 1024
DOCUMENT_LOCALE = "zh_CN"
CRITERIA = _l("Completed the course %(course)s (%(hours)s training hours) on Worker Classroom.")


def bundled_context(url: str) -> dict:
    """A JSON-LD document loader that knows only the bundled contexts (no network, ever)."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise LookupError(f"no bundled JSON-LD context for {url}")
    return json.loads((CONTEXT_DIR / name).read_text(encoding="utf-8"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def credential_for(certificate: Certificate, *, base_url: str) -> dict:
    """The OpenBadgeCredential of one certificate; its id is the certificate's verification page."""
    snapshot, document = certificate.snapshot, certificate.document
    with force_locale(DOCUMENT_LOCALE):  # like the PDF: the same credential whoever downloads it
        criteria = str(CRITERIA) % {"course": snapshot["course_title"], "hours": document["hours"]}
        level = level_label(snapshot.get("level"))
    achievement = {
        "id": f"{base_url}/verify/achievements/course-{certificate.course_id}",
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": snapshot["course_title"],
        "description": criteria,
        "criteria": {"narrative": criteria},
        "creditsAvailable": float(document["hours"] or 0),
        "humanCode": certificate.serial,
    }
    if level:
        achievement["tag"] = [level]
    credential = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"{base_url}/verify/{certificate.token}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"{base_url}/verify/issuer", "type": ["Profile"], "name": snapshot["issuer"]},
        "name": snapshot["course_title"],
        "validFrom": _iso(certificate.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject", "identityType": "name", "hashed": True, "salt": certificate.token,
                "identityHash": "sha256$" + hashlib.sha256(
                    (snapshot["holder_name"] + certificate.token).encode()).hexdigest(),
            }],
            "achievement": achievement,
        },
    }
    if certificate.expires_at is not None:
        credential["validUntil"] = _iso(certificate.expires_at)
    return credential


def sign_credential(certificate: Certificate, *, base_url: str) -> str:
    """The compact JWS; deterministic (Ed25519 and no time claims), so a download repeats exactly."""
    key = signing.key_by_kid(certificate.key_id)
    headers = {"kid": key.kid, "typ": "vc+jwt", "cty": "vc"}
    return jwt.encode(credential_for(certificate, base_url=base_url), signing.private_key_of(key),
                      algorithm=signing.ALGORITHM, headers=headers)


@dataclass
class CredentialCheck:
    """What an uploaded credential turned out to be."""

    signature_ok: bool
    problem: str = ""
    status: str | None = None  # valid / expired / revoked / superseded (from our records and validUntil)
    certificate: Certificate | None = None
    claims: dict = field(default_factory=dict)


BAD_SIGNATURE = _l("The signature does not match: this credential was changed, or it was not issued here.")
NOT_A_CREDENTIAL = _l("This is not an Open Badges credential issued by this platform.")


def check_credential(text: str, *, now: datetime) -> CredentialCheck:
    """Verify the JWT with the published key named by its kid, then its status and expiry."""
    compact = "".join((text or "").split())
    try:
        header = jwt.get_unverified_header(compact)
    except jwt.PyJWTError:
        return CredentialCheck(False, str(NOT_A_CREDENTIAL))
    key = signing.key_by_kid(header.get("kid"))
    if key is None or header.get("alg") != signing.ALGORITHM:
        return CredentialCheck(False, str(BAD_SIGNATURE))
    try:
        claims = jwt.decode(compact, signing.public_key_of(key), algorithms=[signing.ALGORITHM],
                            options={"verify_aud": False})
    except jwt.PyJWTError:
        return CredentialCheck(False, str(BAD_SIGNATURE))
    if "OpenBadgeCredential" not in (claims.get("type") or []):
        return CredentialCheck(True, str(NOT_A_CREDENTIAL), claims=claims)
    certificate = services.by_token(str(claims.get("id", "")).rsplit("/verify/", 1)[-1])
    status = certificate.public_status(now) if certificate is not None else None
    valid_until = claims.get("validUntil")
    if status == "valid" and valid_until and datetime.fromisoformat(valid_until.replace("Z", "+00:00")) <= now:
        status = "expired"
    return CredentialCheck(True, status=status, certificate=certificate, claims=claims)

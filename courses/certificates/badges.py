"""Open Badges 3.0: a certificate as an OpenBadgeCredential (a W3C Verifiable Credential), secured with OB 3.0's
JSON Web Token Proof Format (1EdTech Open Badges 3.0, §8.2 "JSON Web Token Proof Format", #jwt-proof): the JWT
payload IS the credential, with the registered claims iss, jti, sub, nbf (and exp) beside its fields, and no
``vc`` claim (that wrapper belongs to the older VC Data Model 1.1 way); the JOSE header holds only ``alg``
(EdDSA), ``kid`` and ``typ`` "JWT" ("Additional JOSE Headers are NOT allowed"). ``kid`` is a URI that
dereferences to the JWK of the signing key (/verify/keys/<thumbprint>). The JSON-LD contexts are bundled
(contexts/), never fetched.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jwt
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from courses.certificates import achievements, signing, verification
from courses.certificates.kinds import award_facts, kind_of
from courses.certificates.models import Certificate, CertificateKind

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXT_FILES = {VC_CONTEXT: "credentials-v2.jsonld", OB_CONTEXT: "ob-v3p0-context-3.0.3.json"}
CONTEXT_DIR = Path(__file__).resolve().parent / "contexts"
MEDIA_TYPE = "application/vc+jwt"
MAX_CREDENTIAL_BYTES = 64 * 1024
KEYS_PATH = "/verify/keys/"
# The holder's subject id: a name-based UUID of the certificate's token, so it names this holder in this
# credential only (no user id, nothing that links two certificates of one person).
SUBJECT_NAMESPACE = uuid.UUID("6f1c3b52-0d7e-5a43-9a0e-4c1f8e2b7d15")
DESCRIPTION = _l("Certificate number %(serial)s")
HONOUR = _l("Also awarded the title %(title)s")


def bundled_context(url: str) -> dict:
    """A JSON-LD document loader that knows only the bundled contexts (no network, ever)."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise LookupError(f"no bundled JSON-LD context for {url}")
    return json.loads((CONTEXT_DIR / name).read_text(encoding="utf-8"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_url(kid: str, *, base_url: str) -> str:
    """The URI a verifier dereferences to the key's JWK (the JOSE header's ``kid``)."""
    return f"{base_url}{KEYS_PATH}{kid}"


def subject_id(certificate: Certificate) -> str:
    """The holder's id in this credential: a name-based UUID of the certificate's token."""
    return f"urn:uuid:{uuid.uuid5(SUBJECT_NAMESPACE, certificate.token)}"


def credential_for(certificate: Certificate, *, base_url: str) -> dict:
    """The OpenBadgeCredential of one certificate; its id is the certificate's verification page."""
    snapshot, document = certificate.snapshot, certificate.document
    achievement = achievements.achievement_for(certificate, base_url=base_url)
    credential = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"{base_url}/verify/{certificate.token}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"{base_url}/verify/issuer", "type": ["Profile"], "name": document["issuer"]},
        "name": achievement["name"],
        "description": _description(certificate),
        "validFrom": _iso(certificate.issued_at),
        "credentialSubject": {
            "id": subject_id(certificate),
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


def _description(certificate: Certificate) -> str:
    with force_locale(achievements.DOCUMENT_LOCALE):
        text = str(DESCRIPTION) % {"serial": certificate.serial}
        if kind_of(certificate) == CertificateKind.AWARD:
            facts = award_facts(certificate)
            if facts.award and facts.honor_title:
                text += " · " + str(HONOUR) % {"title": facts.honor_title}
    return text


def jwt_claims(credential: dict, *, issued_at: datetime, expires_at: datetime | None) -> dict:
    """OB 3.0 §8.2 "JWT Payload Format": the credential with iss = issuer.id, jti = id,
    sub = credentialSubject.id, nbf = validFrom and exp = validUntil (NumericDates, whole seconds)."""
    claims = {**credential, "iss": credential["issuer"]["id"], "jti": credential["id"],
              "sub": credential["credentialSubject"]["id"], "nbf": int(issued_at.timestamp())}
    if expires_at is not None:
        claims["exp"] = int(expires_at.timestamp())
    return claims


def sign_credential(certificate: Certificate, *, base_url: str) -> str:
    """The compact JWS; deterministic (Ed25519, and times only from the certificate), so a download repeats."""
    key = signing.key_by_kid(certificate.key_id)
    if key is None:  # the foreign key keeps every signing key a certificate names
        raise LookupError(f"signing key {certificate.key_id} is not published")
    claims = jwt_claims(credential_for(certificate, base_url=base_url), issued_at=certificate.issued_at,
                        expires_at=certificate.expires_at)
    return jwt.encode(claims, signing.private_key_of(key), algorithm=signing.ALGORITHM,
                      headers={"kid": key_url(key.kid, base_url=base_url), "typ": "JWT"})


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


def thumbprint_of(kid: object) -> str | None:
    """The key id named by a header's kid: our key URL's last part, or (badges issued before) the bare id."""
    if not isinstance(kid, str):
        return None
    return kid.rsplit(KEYS_PATH, 1)[1] if KEYS_PATH in kid else kid


def registered_claims_hold(header: dict, claims: dict) -> bool:
    """OB 3.0 §8.2 "Verify a Credential VC-JWT Signature": iss, jti, sub and nbf present and equal to the
    credential's fields (exp too when present). Badges issued before (typ vc+jwt) had none of them."""
    if header.get("typ") == "vc+jwt":
        return True
    valid_until = claims.get("validUntil")
    expected = {"iss": (claims.get("issuer") or {}).get("id"), "jti": claims.get("id"),
                "sub": (claims.get("credentialSubject") or {}).get("id"), "nbf": _seconds(claims.get("validFrom"))}
    if "exp" in claims or valid_until:
        expected["exp"] = _seconds(valid_until)
    return all(value is not None and claims.get(name) == value for name, value in expected.items())


def _seconds(text: object) -> int | None:
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def check_credential(text: str, *, now: datetime) -> CredentialCheck:
    """Verify the JWT with the published key named by its kid, then its claims, status and expiry."""
    compact = "".join((text or "").split())
    try:
        header = jwt.get_unverified_header(compact)
    except jwt.PyJWTError:
        return CredentialCheck(False, str(NOT_A_CREDENTIAL))
    key = signing.key_by_kid(thumbprint_of(header.get("kid")))
    if key is None or header.get("alg") != signing.ALGORITHM:
        return CredentialCheck(False, str(BAD_SIGNATURE))
    try:  # the dates are our status's business (an expired credential is reported expired, not refused)
        claims = jwt.decode(compact, signing.public_key_of(key), algorithms=[signing.ALGORITHM],
                            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False})
    except jwt.PyJWTError:
        return CredentialCheck(False, str(BAD_SIGNATURE))
    if "OpenBadgeCredential" not in (claims.get("type") or []) or not registered_claims_hold(header, claims):
        return CredentialCheck(True, str(NOT_A_CREDENTIAL), claims=claims)
    certificate = verification.by_token(str(claims.get("id", "")).rsplit("/verify/", 1)[-1])
    status = certificate.public_status(now) if certificate is not None else None
    valid_until = claims.get("validUntil")
    if status == "valid" and valid_until and datetime.fromisoformat(valid_until.replace("Z", "+00:00")) <= now:
        status = "expired"
    return CredentialCheck(True, status=status, certificate=certificate, claims=claims)

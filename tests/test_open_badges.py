# ruff: noqa: F811 - the shared fixtures are imported from tests.test_certificates and tests.test_competitions
"""Open Badges 3.0, checked from the outside: every rule of the spec's JSON Web Token Proof Format (1EdTech Open
Badges 3.0, §8.2 #jwt-proof: "Create the JOSE Header", "JWT Payload Format", "Verify a Credential VC-JWT
Signature") applied to a downloaded badge whose signature is verified by independent libraries (joserfc, and
openbadgeslib's OB3 verifier) given only the key its ``kid`` URI dereferences to; the credential's required
fields as the spec's data model lists them; an achievement per course and per award of an event, whose id
resolves."""

from __future__ import annotations

import base64
import json
import re
import warnings
from datetime import UTC, datetime
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey

from classroom.database import utcnow
from classroom.extensions import db
from courses.certificates import awards, badges, signing
from tests.factories import login_client
from tests.test_certificates import certificate_of, certified, complete, course_for_certificates  # noqa: F401
from tests.test_competitions import (  # noqa: F401
    confirmed_field,
    electrician,
    entry_of,
    make_competition,
    make_event,
)

SITE = "http://localhost"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = re.compile(r"https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json")
DATE_TIME_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
# OB 3.0 "AchievementType" enumeration (an extensible vocabulary: other terms start with "ext:").
ACHIEVEMENT_TYPES = {
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree", "Award", "Badge",
    "BachelorDegree", "Certificate", "CertificateOfCompletion", "Certification", "CommunityService", "Competency",
    "Course", "CoCurricular", "Degree", "Diploma", "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment",
    "JourneymanCertificate", "LearningProgram", "License", "Membership", "ProfessionalDoctorate",
    "QualityAssuranceCredential", "MasterCertificate", "MasterDegree", "MicroCredential", "ResearchDoctorate",
    "SecondarySchoolDiploma"}


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def is_uri(value) -> bool:
    return isinstance(value, str) and bool(urlsplit(value).scheme) and " " not in value


def dereference(client, uri: str) -> dict:
    """GET a URI of this site through the test client (what a verifier does over HTTP)."""
    assert uri.startswith(SITE + "/"), uri
    response = client.get(uri.removeprefix(SITE))
    assert response.status_code == 200, uri
    return response.get_json()


def download_badge(app, user, certificate) -> str:
    response = login_client(app, user).get(f"/certificates/{certificate.id}/badge.jwt")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def joserfc_payload(token: str, jwk: dict) -> dict:
    """The payload, once joserfc (not PyJWT, which signs) has checked the signature with ``jwk``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519"
        return json.loads(jws.deserialize_compact(token, OKPKey.import_key(jwk), algorithms=["EdDSA"]).payload)


def seconds(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def verify_ob3_jwt(client, token: str) -> dict:
    """Every rule of OB 3.0 §8.2 for a compact JWS; returns the verified credential."""
    assert token.count(".") == 2
    header = b64url_json(token.split(".")[0])
    # "Create the JOSE Header": alg, kid (a URI dereferencing to a JWK) or jwk, typ "JWT" if present, nothing else
    assert set(header) <= {"alg", "kid", "jwk", "typ"}, header
    assert header["alg"] == "EdDSA" and header.get("typ", "JWT") == "JWT"
    assert is_uri(header["kid"]) and "jwk" not in header
    jwk = dereference(client, header["kid"])
    assert "d" not in jwk and (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    payload = joserfc_payload(token, jwk)
    # "JWT Payload Format": the payload IS the credential (no vc claim), with the registered claims beside it
    assert "vc" not in payload
    assert payload["iss"] == payload["issuer"]["id"] and is_uri(payload["iss"])
    assert payload["jti"] == payload["id"] and is_uri(payload["jti"])
    assert payload["sub"] == payload["credentialSubject"]["id"] and is_uri(payload["sub"])
    assert isinstance(payload["nbf"], int) and payload["nbf"] == seconds(payload["validFrom"])
    assert payload["nbf"] <= datetime.now(UTC).timestamp()  # validFrom has occurred
    if "validUntil" in payload:
        assert isinstance(payload["exp"], int) and payload["exp"] == seconds(payload["validUntil"])
    else:
        assert "exp" not in payload
    return payload


def assert_conforms(credential: dict) -> None:
    """The required fields of OB 3.0's data model: AchievementCredential, Profile, AchievementSubject,
    IdentityObject, Achievement, Criteria (the spec's "Data Model" tables, cardinality 1 or 1..*)."""
    assert credential["@context"][0] == VC_CONTEXT and OB_CONTEXT.fullmatch(credential["@context"][1])
    assert is_uri(credential["id"])
    assert "VerifiableCredential" in credential["type"]
    assert {"AchievementCredential", "OpenBadgeCredential"} & set(credential["type"])
    issuer = credential["issuer"]
    assert is_uri(issuer["id"]) and "Profile" in issuer["type"] and issuer["name"]
    assert DATE_TIME_Z.fullmatch(credential["validFrom"])
    assert "validUntil" not in credential or DATE_TIME_Z.fullmatch(credential["validUntil"])
    assert isinstance(credential.get("name", ""), str)
    subject = credential["credentialSubject"]
    assert "AchievementSubject" in subject["type"] and (subject.get("id") or subject.get("identifier"))
    for identity in subject.get("identifier", []):
        assert identity["type"] == "IdentityObject" and isinstance(identity["hashed"], bool)
        assert re.fullmatch(r"(sha256|md5)\$[0-9a-fA-F]+", identity["identityHash"]) and identity["identityType"]
    assert_achievement(subject["achievement"])


def assert_achievement(achievement: dict) -> None:
    assert is_uri(achievement["id"]) and "Achievement" in achievement["type"]
    assert achievement["criteria"].get("id") or achievement["criteria"].get("narrative")
    assert isinstance(achievement["description"], str) and achievement["description"]
    assert isinstance(achievement["name"], str) and achievement["name"]
    kind = achievement.get("achievementType", "Achievement")
    assert kind in ACHIEVEMENT_TYPES or kind.startswith("ext:")
    assert "creditsAvailable" not in achievement or isinstance(achievement["creditsAvailable"], float)


@pytest.fixture
def awarded(confirmed_field):
    """Award certificates of one event: 张三明 first (and 技术能手), 李四 and 王五 second (as the results issue them)."""
    competition, event, _stages, organizer, people = confirmed_field
    places = [("first", "一等奖", 1, "技术能手"), ("second", "二等奖", 2, None), ("second", "二等奖", 3, None)]
    issued = []
    for person, (code, text, rank, title) in zip(people, places, strict=False):
        snapshot = {"holder_name": person.real_name, "competition_title": competition.title, "edition": None,
                    "year": competition.year, "level": None, "event": event.name, "trade": event.trade, "team": None,
                    "rank": rank, "award": code, "award_text": text, "honor_title": title, "issuer": "市总工会"}
        issued.append((person, awards.issue_award(
            person, competition_id=competition.id, entry_id=entry_of(person, event).id, snapshot=snapshot,
            issuer_union_id=competition.organizer_union_id, now=utcnow())))
    db.session.commit()
    return event, issued


# ---- the JWT proof format ---------------------------------------------------------------------------------

def test_a_course_badge_follows_every_rule_of_the_jwt_proof_format(app, client, certified):
    worker, course, certificate = certified
    token = download_badge(app, worker, certificate)
    credential = verify_ob3_jwt(client, token)
    assert_conforms(credential)
    assert credential["id"] == f"{SITE}/verify/{certificate.token}" and "validUntil" in credential
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", credential["sub"])  # the holder, by no id of ours
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["id"] == f"{SITE}/verify/achievements/course-{course.id}"
    assert (achievement["achievementType"], achievement["creditsAvailable"]) == ("CertificateOfCompletion", 2.0)
    assert dereference(client, achievement["id"]) == {"@context": credential["@context"], **achievement}
    assert dereference(client, credential["issuer"]["id"])["id"] == credential["issuer"]["id"]


def test_an_award_badge_has_the_events_award_as_its_achievement(app, client, awarded):
    event, ((first, first_certificate), (second, second_certificate), (_third, third_certificate)) = awarded
    credential = verify_ob3_jwt(client, download_badge(app, first, first_certificate))
    assert_conforms(credential)
    assert "validUntil" not in credential and "exp" not in credential  # an award does not expire
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["id"] == f"{SITE}/verify/achievements/award-{event.id}-first"
    assert achievement["achievementType"] == "Award" and "creditsAvailable" not in achievement
    assert "一等奖" in achievement["name"] and "电工（个人赛）" in achievement["name"]
    assert "技术能手" in credential["description"]  # the title of the first place, beside the award
    assert dereference(client, achievement["id"])["name"] == achievement["name"]
    seconds_ = [verify_ob3_jwt(client, download_badge(app, person, row))["credentialSubject"]["achievement"]["id"]
                for person, row in ((second, second_certificate), (_third, third_certificate))]
    assert seconds_ == [f"{SITE}/verify/achievements/award-{event.id}-second"] * 2  # one achievement, two holders
    assert dereference(client, seconds_[0])["achievementType"] == "Award"


def test_two_completions_of_a_course_share_one_achievement_and_unknown_ids_are_404(
        app, client, certified, tree, make_user):
    worker, course, certificate = certified
    other = certificate_of(complete(make_user("李秀珍", union=tree.a1), course))
    ids = {badges.credential_for(row, base_url=SITE)["credentialSubject"]["achievement"]["id"]
           for row in (certificate, other)}
    assert ids == {f"{SITE}/verify/achievements/course-{course.id}"}
    subjects = {badges.credential_for(row, base_url=SITE)["credentialSubject"]["id"] for row in (certificate, other)}
    assert len(subjects) == 2  # one subject id per credential: nothing links two people's badges
    for slug in ("course-999999", "course-x", "award-1-first", "skill-9", "course-1/..", "certificate-NOPE", "x" * 300):
        assert client.get(f"/verify/achievements/{slug}").status_code == 404


def test_openbadgeslib_verifies_the_badge_offline_with_the_published_key(app, client, certified):
    from openbadgeslib.ob3 import OB3Verifier

    worker, _course, certificate = certified
    token = download_badge(app, worker, certificate)
    jwk = dereference(client, jwt.get_unverified_header(token)["kid"])
    public_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
    verified = OB3Verifier(pubkey_pem=public_key).verify(token)
    assert verified.id == f"{SITE}/verify/{certificate.token}"


def test_forgeries_fail_every_verifier(app, client, certified, tree, make_user, course_for_certificates):
    worker, _course, certificate = certified
    token = download_badge(app, worker, certificate)
    header_b64, payload_b64, signature_b64 = token.split(".")
    jwk = dereference(client, jwt.get_unverified_header(token)["kid"])
    payload = b64url_json(payload_b64)
    encode = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    edited = ".".join([header_b64, encode({**payload, "exp": payload["exp"] + 86400 * 3650}), signature_b64])
    other_header = ".".join([encode({"alg": "EdDSA", "typ": "JWT", "kid": "x"}), payload_b64, signature_b64])
    unsigned = ".".join([encode({"alg": "none", "typ": "JWT"}), payload_b64, ""])
    for forged in (edited, other_header, unsigned):
        with pytest.raises((BadSignatureError, JoseError, ValueError)):
            joserfc_payload(forged, jwk)
        assert badges.check_credential(forged, now=utcnow()).status is None
    # a key of our own but claims that disagree with the credential: refused as not a credential of ours
    key = signing.key_by_kid(certificate.key_id)
    wrong_subject = jwt.encode({**payload, "sub": "urn:uuid:00000000-0000-0000-0000-000000000000"},
                               signing.private_key_of(key), algorithm="EdDSA",
                               headers={"kid": badges.key_url(key.kid, base_url=SITE)})
    check = badges.check_credential(wrong_subject, now=utcnow())
    assert check.signature_ok and check.problem and check.status is None


def test_badges_issued_before_still_check_out(app, certified):
    """Before: typ vc+jwt, a cty header, a bare thumbprint as kid and no registered claims."""
    _worker, _course, certificate = certified
    key = signing.key_by_kid(certificate.key_id)
    legacy = jwt.encode(badges.credential_for(certificate, base_url=SITE), signing.private_key_of(key),
                        algorithm="EdDSA", headers={"kid": key.kid, "typ": "vc+jwt", "cty": "vc"})
    check = badges.check_credential(legacy, now=utcnow())
    assert check.signature_ok and not check.problem and check.status == "valid"


def test_the_kid_names_a_key_that_stays_published_after_a_rotation(app, client, certified):
    worker, _course, certificate = certified
    token = download_badge(app, worker, certificate)
    signing.rotate_key(now=utcnow())
    db.session.commit()
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == f"{SITE}/verify/keys/{certificate.key_id}"
    response = client.get(kid.removeprefix(SITE))
    assert response.mimetype == "application/jwk+json" and set(response.get_json()) == set(
        ("kty", "crv", "x", "kid", "alg", "use"))
    assert verify_ob3_jwt(client, token)["jti"] == f"{SITE}/verify/{certificate.token}"
    assert client.get("/verify/keys/not-a-key").status_code == 404

# ruff: noqa: F811 - the shared fixtures are imported from tests.test_certificates
"""The public endpoints machines read: CORS (GET only) on the keys, the issuer, the achievements and the JSON
verification, nowhere else; no revocation reason in public; a transcript QR code without the user id; a
/healthz that is never cached and names no host or process."""

from __future__ import annotations

import base64
import json
import socket

import pytest
from itsdangerous import URLSafeSerializer

from classroom.database import utcnow
from classroom.extensions import db
from courses.hours import transcript
from tests.factories import login_client
from tests.pdfs import qr_codes
from tests.test_certificates import certified, course_for_certificates  # noqa: F401
from tests.test_hours import TODAY, credit

ORIGIN = "https://verifier.example"


def shared_paths(certificate) -> list[str]:
    achievement = f"/verify/achievements/course-{certificate.course_id}"
    return ["/verify/keys", f"/verify/keys/{certificate.key_id}", "/verify/issuer", achievement,
            f"/verify/{certificate.token}?format=json", f"/verify?serial={certificate.serial}&format=json",
            "/verify/NOT-A-TOKEN?format=json"]  # a JSON 404 too, so a browser can read "not found"


def test_machines_may_read_the_public_documents_from_any_origin(client, certified):
    _worker, _course, certificate = certified
    for path in shared_paths(certificate):
        response = client.get(path, headers={"Origin": ORIGIN})
        assert response.is_json and response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "Access-Control-Allow-Credentials" not in response.headers
        preflight = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                                  "Access-Control-Request-Headers": "accept"})
        assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*", path
        methods = {m.strip() for m in preflight.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "HEAD", "OPTIONS"}
        assert "accept" in preflight.headers["Access-Control-Allow-Headers"].lower()
    accepted = client.get(f"/verify/{certificate.token}", headers={"Origin": ORIGIN, "Accept": "application/json"})
    assert accepted.is_json and accepted.headers["Access-Control-Allow-Origin"] == "*"


def test_pages_for_people_and_everything_else_share_nothing(app, client, certified):
    worker, _course, certificate = certified
    token = login_client(app, worker).get(f"/certificates/{certificate.id}/badge.jwt").get_data(as_text=True)
    answers = [client.get(f"/verify/{certificate.token}", headers={"Origin": ORIGIN}),
               client.get(f"/verify?serial={certificate.serial}", headers={"Origin": ORIGIN}),
               client.get("/verify", headers={"Origin": ORIGIN}),
               client.post("/verify/credential", data={"text": token}, headers={"Origin": ORIGIN}),
               client.get("/healthz", headers={"Origin": ORIGIN}),
               client.get("/", headers={"Origin": ORIGIN}),
               login_client(app, worker).get("/me/certificates", headers={"Origin": ORIGIN})]
    for response in answers:
        assert "Access-Control-Allow-Origin" not in response.headers, response.request.path


def test_the_revocation_reason_stays_with_the_admins(app, client, certified):
    _worker, _course, certificate = certified
    certificate.status, certificate.revoked_at, certificate.revoked_reason = "revoked", utcnow(), "与张某的纠纷"
    db.session.commit()
    record = client.get(f"/verify/{certificate.token}?format=json").get_json()
    assert record["status"] == "revoked" and record["revoked_at"].startswith(str(certificate.revoked_at.year))
    assert "revoked_reason" not in record and "张某" not in json.dumps(record, ensure_ascii=False)
    page = client.get(f"/verify/{certificate.token}").get_data(as_text=True)
    assert 'data-certificate-status="revoked"' in page and "张某" not in page


# ---- the transcript's QR code -------------------------------------------------------------------------------

def test_the_transcript_qr_code_carries_no_user_id_and_a_changed_token_is_refused(app, tree, make_user):
    worker = make_user("张小明", union=tree.a1)
    credit(worker, 90)
    [url] = qr_codes(login_client(app, worker).get(f"/me/hours/{TODAY.year}.pdf").data)
    token = url.rsplit("/", 1)[1]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for readable in (raw, token.encode()):  # opaque: no JSON, no name, no id, whichever way it is read
        assert b'"u"' not in readable and b"{" not in readable and "张".encode() not in readable
    assert transcript.read(token) == {"y": TODAY.year, "m": 90, "n": "张*明", "d": TODAY.isoformat(),
                                      "g": tree.a1.name}
    verifier = app.test_client()
    assert 'data-verified-minutes="90"' in verifier.get(f"/hours/verify/{token}").get_data(as_text=True)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in (flipped, token[:-2], token + "AA", "x" * 2000, "not.a.token"):
        assert verifier.get(f"/hours/verify/{bad}").status_code == 404


def test_transcripts_printed_before_still_verify_without_showing_the_user_id(app, tree, make_user):
    worker = make_user("张小明", union=tree.a1)
    old = URLSafeSerializer(app.config["SECRET_KEY"], salt="hours-transcript").dumps(
        {"u": worker.id, "y": 2025, "m": 120, "n": "张*明", "d": "2025-12-30", "g": "华东机电工会"})
    assert transcript.read(old) == {"y": 2025, "m": 120, "n": "张*明", "d": "2025-12-30", "g": "华东机电工会"}
    assert 'data-verified-minutes="120"' in app.test_client().get(f"/hours/verify/{old}").get_data(as_text=True)
    forged = URLSafeSerializer("another secret", salt="hours-transcript").dumps({"y": 2025, "m": 9999})
    assert app.test_client().get(f"/hours/verify/{forged}").status_code == 404


# ---- /healthz --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("leading", [False, True])
def test_healthz_is_never_cached_and_names_no_host_or_process(app, client, leading, monkeypatch):
    from classroom import scheduler

    monkeypatch.setattr(scheduler.FileLease, "for_engine", classmethod(lambda cls, engine: None))  # the row decides
    holder = f"{socket.gethostname()}:424242:abc"
    if leading:
        scheduler.acquire_lease(holder, seconds=60, now=utcnow())
    response = client.get("/healthz")
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    assert "424242" not in body and socket.gethostname() not in body
    assert response.json["scheduler"]["has_leader"] is leading and response.json["scheduler"]["leader"] is False
    assert "current_leader" not in response.json["scheduler"]
    assert (scheduler.current_leader(utcnow()) == holder) is leading  # who leads: the lease row says

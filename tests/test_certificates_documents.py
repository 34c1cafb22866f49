# ruff: noqa: F811 - the shared fixtures are imported from tests.test_certificates
"""Certificate documents: the PDF (text, embedded CJK font, QR code, identical bytes; that no OS font is read is
tests/test_documents_font.py's), the Open Badges 3.0 credential, the admins' XLSX export, and skill-level
certificates recorded from outside issuers."""

from __future__ import annotations

import io
import json

import jwt
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from courses.certificates import badges
from courses.certificates.models import Certificate, ExternalSkillCertificate
from tests.factories import login_client
from tests.helpers import FORMULA_STARTS, assert_inert_cell, formula_payloads
from tests.pdfs import BUNDLED_FONT_NAME, embedded_truetype_fonts, pdf_text, qr_codes
from tests.test_certificates import certificate_of, certified, complete, course_for_certificates  # noqa: F401
from tests.xlsx_raw import assert_xlsx_inert

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _uploads_in_tmp(request, tmp_path):
    """Scans go to the test's own folder, never the instance folder."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


def pdf_of(app, user, certificate) -> bytes:
    response = login_client(app, user).get(f"/certificates/{certificate.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"{certificate.serial}.pdf" in response.headers["Content-Disposition"]
    return response.data


# ---- PDF ------------------------------------------------------------------------------------------------

def test_pdf_has_the_text_an_embedded_cjk_font_and_a_qr_code_to_the_verify_page(app, certified):
    from pypdf import PdfReader

    worker, _course, certificate = certified
    body = pdf_of(app, worker, certificate)
    page = PdfReader(io.BytesIO(body)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (842, 595)  # A4 landscape
    for text in (page.extract_text(), pdf_text(body)):  # pypdf and pdfminer.six read it independently
        for expected in (certificate.serial, "低压电工作业安全规程", "张小明", "市总工会"):
            assert expected in text
    assert embedded_truetype_fonts(body) == {BUNDLED_FONT_NAME}  # the shipped font, as TrueType (/FontFile2)
    assert qr_codes(body) == [f"http://localhost/verify/{certificate.token}"]  # the request's root: no PUBLIC_BASE_URL


def test_the_same_certificate_always_gives_the_same_bytes(app, certified, tree, make_user, make_admin):
    worker, course, certificate = certified
    first = pdf_of(app, worker, certificate)
    other = certificate_of(complete(make_user("李秀珍", union=tree.a1), course))
    assert pdf_of(app, make_admin(tree.city), other) != first  # another certificate in between
    assert pdf_of(app, worker, certificate) == first
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.downloaded"))


def test_the_pdf_metadata_names_the_issuer_and_the_date_of_issue(app, certified):
    """Not ReportLab's invariant "anonymous" and 2000-01-01: the issuing union, our Creator, and the
    certificate's own time of issue (so the bytes still never change)."""
    from pypdf import PdfReader

    worker, _course, certificate = certified
    body = pdf_of(app, worker, certificate)
    meta = PdfReader(io.BytesIO(body)).metadata
    assert (meta.author, meta.creator) == ("市总工会", "职工学堂 Worker Classroom")
    issued = certificate.issued_at.replace(microsecond=0)
    assert meta.creation_date == meta.modification_date == issued
    assert b"anonymous" not in body and b"D:20000101" not in body


# ---- Open Badges 3.0 -------------------------------------------------------------------------------------

def test_open_badges_credential_verifies_with_the_published_key_and_an_edited_copy_fails(app, client, certified):
    worker, _course, certificate = certified
    holder = login_client(app, worker)
    response = holder.get(f"/certificates/{certificate.id}/badge.jwt")
    assert response.status_code == 200 and response.mimetype == "application/vc+jwt"
    token = response.get_data(as_text=True)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": f"http://localhost/verify/keys/{certificate.key_id}", "typ": "JWT"}
    key = jwt.PyJWK.from_dict(client.get(header["kid"].removeprefix("http://localhost")).get_json())  # kid resolves
    credential = jwt.decode(token, key.key, algorithms=["EdDSA"])
    assert credential["@context"] == [badges.VC_CONTEXT, badges.OB_CONTEXT]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"].endswith("/verify/issuer") and credential["issuer"]["name"] == "市总工会"
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["name"] == "低压电工作业安全规程"
    assert achievement["criteria"]["narrative"] and credential["validFrom"] and credential["validUntil"]
    assert credential["id"].endswith(f"/verify/{certificate.token}")
    assert "张小明" not in json.dumps(credential, ensure_ascii=False)
    assert holder.get(f"/certificates/{certificate.id}/badge.jwt").get_data(as_text=True) == token  # deterministic

    header_b64, payload_b64, signature_b64 = token.split(".")
    edited = dict(credential, name="高级技师培训")
    forged = ".".join([header_b64, jwt.utils.base64url_encode(json.dumps(edited).encode()).decode(), signature_b64])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key.key, algorithms=["EdDSA"])

    page = client.post("/verify/credential", data={"file": (io.BytesIO(token.encode()), "badge.jwt")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-credential-result="valid"' in page
    page = client.post("/verify/credential", data={"text": forged}).get_data(as_text=True)
    assert 'data-credential-result="invalid"' in page
    certificate.status, certificate.revoked_at, certificate.revoked_reason = "revoked", utcnow(), "冒名顶替"
    db.session.commit()
    page = client.post("/verify/credential", data={"text": token}).get_data(as_text=True)
    assert 'data-credential-result="revoked"' in page and "冒名顶替" not in page  # the reason stays with the admins


def test_an_expired_credential_is_reported_expired(tree, make_user, course_for_certificates):
    from datetime import timedelta

    course = course_for_certificates("叉车安全", certificate_months=1)
    certificate = certificate_of(complete(make_user("李四", union=tree.a1), course,
                                          now=utcnow() - timedelta(days=70)))
    token = badges.sign_credential(certificate, base_url="http://127.0.0.1:5000")
    check = badges.check_credential(token, now=utcnow())
    assert check.signature_ok and check.status == "expired" and check.certificate.id == certificate.id
    assert not badges.check_credential("not a jwt", now=utcnow()).signature_ok


def test_the_json_ld_contexts_are_bundled():
    for url in (badges.VC_CONTEXT, badges.OB_CONTEXT):
        assert "@context" in badges.bundled_context(url)
    with pytest.raises(LookupError):
        badges.bundled_context("https://example.org/other")
    ob = badges.bundled_context(badges.OB_CONTEXT)["@context"]
    assert {"OpenBadgeCredential", "Achievement", "AchievementSubject", "IdentityObject", "Profile"} <= set(ob)


# ---- XLSX export -------------------------------------------------------------------------------------------

def test_export_neutralises_formulas_and_masks_mobiles_outside_the_readers_unions(
        app, tree, make_user, make_admin, course_for_certificates):
    title = "=HYPERLINK(\"http://example.invalid\",\"点我\")"
    course = course_for_certificates(title)
    course.host_union_id = tree.district_a.id
    db.session.commit()
    payloads = formula_payloads()
    for index, payload in enumerate(payloads):
        complete(make_user(payload[:50], union=tree.a1 if index % 2 else tree.b1), course)
    admin = make_admin(tree.district_a)
    response = login_client(app, admin).get("/certificates/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(payloads)
    names = {row[1].value: row[1] for row in rows}  # (XML turns a carriage return into a line feed)
    for payload in payloads:
        assert_inert_cell(names[payload[:50].replace("\r", "\n")], payload[:50])
    for row in rows:
        assert_inert_cell(row[3], title)
    formulas = sum(payload.startswith(FORMULA_STARTS) for payload in payloads)
    assert assert_xlsx_inert(response.data) == formulas + len(rows)  # the names and the course
    mobiles = {row[0].value: row[2].value for row in rows}
    for certificate in db.session.scalars(select(Certificate)):
        mobile = certificate.user.mobile
        expected = mobile if certificate.union_id == tree.a1.id else mobile[:3] + "****" + mobile[-4:]
        assert mobiles[certificate.serial] == expected
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.exported")).data["rows"] == \
        len(payloads)


# ---- skill-level certificates from outside issuers ----------------------------------------------------------

def skill_form(number="S000011000001234000001", level="4", **overrides):
    data = {"number": number, "occupation": "电工", "level": level, "evaluation_body": "市职业技能鉴定中心",
            "issued_on": "2024-06-01", "file": (io.BytesIO(PNG), "scan.png")}
    data.update(overrides)
    return data


def post_skill(client, **overrides):
    return client.post("/me/certificates/skills/new", data=skill_form(**overrides), content_type="multipart/form-data")


def test_recording_checks_the_number_by_structure(app, tree, make_user):
    client = login_client(app, make_user("赵六", union=tree.a1))
    cases = [
        ({"number": "S00001100000123400000"}, "22 characters"),
        ({"number": "X000011000001234000001"}, "starts with Y or S"),
        ({"number": "S000099000001234000001"}, "not a province code"),
        ({"number": "S000011000001294000001"}, "after the date of issue"),
        ({"level": "3"}, "not the level you chose"),
        ({"file": (io.BytesIO(b"MZ\x90\x00"), "scan.png")}, "not a .png file"),
        ({"file": (io.BytesIO(PNG), "scan.docx")}, "PDF, PNG or JPEG"),
    ]
    for overrides, message in cases:
        response = post_skill(client, **overrides)
        assert response.status_code == 200 and message in response.get_data(as_text=True), message
    assert db.session.scalar(select(ExternalSkillCertificate)) is None
    assert post_skill(client, number="s 0000 11 000001 23 4 000001").status_code == 302
    assert "already recorded" in post_skill(client, number="S000011000001234000001").get_data(as_text=True)


def test_a_verified_skill_certificate_sets_the_highest_level_and_stays_marked_external(
        app, tree, make_user, make_admin):
    worker = make_user("赵六", union=tree.a1, skill_level=5)
    client = login_client(app, worker)
    post_skill(client, number="S000011000001234000001", level="4")
    post_skill(client, number="Y123444000002243000007", level="3")
    rows = {row.level: row for row in db.session.scalars(select(ExternalSkillCertificate))}
    outsider = login_client(app, make_admin(tree.district_b))
    assert outsider.post(f"/certificates/skills/{rows[4].id}/verify").status_code == 404
    assert outsider.get(f"/certificates/skills/{rows[4].id}/scan").status_code == 404
    admin = login_client(app, make_admin(tree.district_a))
    listing = admin.get("/certificates/skills").get_data(as_text=True)
    assert f'data-skill-record="{rows[4].id}"' in listing and "赵六" in listing
    scan = admin.get(f"/certificates/skills/{rows[4].id}/scan")
    assert scan.status_code == 200 and scan.data == PNG and scan.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/certificates/skills/{rows[4].id}/scan").data == PNG
    admin.post(f"/certificates/skills/{rows[4].id}/verify")
    db.session.refresh(worker)
    assert worker.skill_level == 4
    admin.post(f"/certificates/skills/{rows[3].id}/reject", data={"reason": ""})
    db.session.refresh(rows[3])
    assert rows[3].status == "submitted"  # a rejection needs a reason
    admin.post(f"/certificates/skills/{rows[3].id}/reject", data={"reason": "扫描件不清晰"})
    db.session.refresh(rows[3])
    db.session.refresh(worker)
    assert rows[3].status == "rejected" and worker.skill_level == 4
    titles = db.session.scalars(select(Notification.title).where(Notification.kind == "skill_certificate.decided")).all()
    assert len(titles) == 2
    page = client.get("/me/certificates").get_data(as_text=True)
    assert "市职业技能鉴定中心" in page and "扫描件不清晰" in page and 'data-skill-status="verified"' in page
    # never presented as this platform's: /verify does not know the number
    response = client.get("/verify", query_string={"serial": "S000011000001234000001"})
    assert response.status_code == 400 and "data-certificate-status" not in response.get_data(as_text=True)
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("skill_certificate.%"))))
    assert actions == {"skill_certificate.recorded", "skill_certificate.verified", "skill_certificate.rejected"}

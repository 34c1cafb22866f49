"""Certificates: issued once on completion, serials with a check character, signatures anyone can check
with the published key, public verification, revocation, reissue, scope, backfill and key rotation."""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import secrets
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from classroom.accounts.models import User
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.domain import Conflict
from classroom.extensions import db
from classroom.notifications.models import Notification
from courses.certificates import documents, issuance, revocation, skills, verification
from courses.certificates.models import Certificate, CertificateCounter, ExternalSkillCertificate, SigningKey
from courses.certificates.serials import (
    ALPHABET,
    TABLE,
    InvalidSerial,
    MistypedSerial,
    compact,
    format_serial,
    is_valid,
    parse_serial,
)
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from courses.study.services import evaluate_completion
from tests.factories import login_client
from tests.helpers import assert_inert, xss_payloads
from tests.markup import elements


def complete(user, course, *, now=None) -> Enrollment:
    """Enroll and complete (the course has no lessons), which fires enrollment_completed."""
    now = now or utcnow()
    enrollment = enroll(user, course, now=now)
    evaluate_completion(enrollment, now=now)
    db.session.commit()
    return enrollment


def certificate_of(enrollment) -> Certificate:
    return db.session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment.id,
                                                       Certificate.status != "superseded"))


@pytest.fixture
def course_for_certificates(make_course, tree):
    def make(title="低压电工作业安全规程", **fields):
        fields.setdefault("certificate_months", 36)
        fields.setdefault("target_level", 4)
        return make_course(title, lessons=0, min_lesson_share=0, scope=fields.pop("scope", tree.city), **fields)

    return make


@pytest.fixture
def certified(tree, make_user, course_for_certificates):
    """张小明 of A1 completed a city-wide course (90 minutes = 2 学时, level 4, valid 36 months)."""
    worker = make_user("张小明", union=tree.a1)
    course = course_for_certificates()
    enrollment = complete(worker, course)
    return worker, course, certificate_of(enrollment)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- issuing ----------------------------------------------------------------------------------------

def test_completion_issues_one_signed_certificate(certified, instructor, tree):
    worker, course, certificate = certified
    year = utcnow().year
    assert re.fullmatch(rf"ZGXT-{year}-0000001-[0-9A-Z]", certificate.serial)
    assert (certificate.year, certificate.seq, certificate.status, certificate.kind) == (year, 1, "valid", "course")
    assert len(certificate.token) >= 32 and len(b64url_decode(certificate.token)) >= 16  # at least 128 bits
    assert certificate.union_id == tree.a1.id and certificate.issuer_union_id == tree.city.id
    document = certificate.document
    assert document["holder"] == "张*明" and "张小明" not in json.dumps(document, ensure_ascii=False)
    assert (document["course"], document["minutes"], document["hours"], document["level"]) == (
        "低压电工作业安全规程", 90, "2", 4)
    assert document["issuer"] == "市总工会" and document["instructors"] == [instructor.real_name]
    assert document["expires_on"] is not None
    assert certificate.snapshot["holder_name"] == "张小明"
    assert verification.signature_holds(certificate)
    assert issuance.issue_for_enrollment(db.session.get(Enrollment, certificate.enrollment_id),
                                         now=utcnow()).id == certificate.id
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    notice = db.session.scalar(select(Notification).where(Notification.user_id == worker.id))
    assert notice.kind == "certificate.issued" and course.title in notice.title
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issued")).object_id == \
        certificate.id


def test_later_edits_to_the_course_do_not_change_an_issued_certificate(certified):
    _worker, course, certificate = certified
    course.title, course.credit_minutes = "改过的标题", 450
    db.session.commit()
    db.session.refresh(certificate)
    assert certificate.document["course"] == "低压电工作业安全规程" and certificate.document["hours"] == "2"
    assert verification.signature_holds(certificate)


def test_an_unfinished_enrollment_earns_nothing(tree, make_user, course_for_certificates):
    enrollment = enroll(make_user(union=tree.a1), course_for_certificates(), now=utcnow())
    db.session.commit()
    with pytest.raises(Conflict):
        issuance.issue_for_enrollment(enrollment, now=utcnow())


def test_a_failure_to_issue_never_undoes_the_completion(monkeypatch, runner, tree, make_user, course_for_certificates):
    from courses.certificates import signing

    def broken(*_args, **_kwargs):
        raise RuntimeError("the signing key cannot be read")

    monkeypatch.setattr(signing, "sign", broken)
    enrollment = complete(make_user(union=tree.a1), course_for_certificates())
    db.session.refresh(enrollment)
    assert enrollment.status == "completed" and certificate_of(enrollment) is None
    assert db.session.scalar(select(func.count()).select_from(CertificateCounter)) == 0  # nothing half-done
    monkeypatch.undo()
    assert runner.invoke(args=["certificates", "backfill"]).output.startswith("1 certificate(s) issued")
    assert certificate_of(enrollment) is not None


def test_serials_count_per_year(tree, make_user, course_for_certificates):
    course = course_for_certificates()
    last_year = utcnow() - timedelta(days=400)
    first = certificate_of(complete(make_user("甲", union=tree.a1), course, now=last_year))
    second = certificate_of(complete(make_user("乙", union=tree.a1), course))
    third = certificate_of(complete(make_user("丙", union=tree.a1), course))
    assert (first.year, first.seq) == (last_year.year, 1)
    assert [(c.year, c.seq) for c in (second, third)] == [(utcnow().year, 1), (utcnow().year, 2)]
    assert db.session.get(CertificateCounter, utcnow().year).last_seq == 2


# ---- serials ------------------------------------------------------------------------------------------

def test_the_check_table_is_a_totally_anti_symmetric_quasigroup():
    for row in TABLE:
        assert sorted(row) == list(range(36))
    for column in range(36):
        assert sorted(TABLE[row][column] for row in range(36)) == list(range(36))
    for c in range(36):
        for x in range(36):
            for y in range(36):
                if x != y:
                    assert TABLE[TABLE[c][x]][y] != TABLE[TABLE[c][y]][x]


def test_every_substitution_and_adjacent_transposition_is_caught():
    rng = random.Random(7)
    samples = [format_serial("ZGXT", rng.randint(2024, 2040), rng.randint(1, 9_999_999)) for _ in range(150)]
    samples += [format_serial("ZGXT", 2026, seq) for seq in (1, 12, 123, 1234, 9_999_999, 1_000_000)]
    for serial in samples:
        typed = compact(serial)
        assert is_valid(typed) and parse_serial(serial.lower()) == serial
        for index, original in enumerate(typed):
            for replacement in ALPHABET:
                if replacement != original:
                    assert not is_valid(typed[:index] + replacement + typed[index + 1:]), (serial, index, replacement)
        for index in range(len(typed) - 1):
            if typed[index] != typed[index + 1]:
                swapped = typed[:index] + typed[index + 1] + typed[index] + typed[index + 2:]
                assert not is_valid(swapped), (serial, index)


def test_typed_serials_are_forgiving_and_typos_are_explained():
    serial = format_serial("ZGXT", 2026, 1234)
    body, check = serial[:-1], serial[-1]
    for spelling in (serial.lower(), serial.replace("-", " "), serial.replace("-", ""), f"  {serial}  ",
                     serial.replace("-", "—"), "ＺＧＸＴ" + serial[4:]):
        assert parse_serial(spelling) == serial
    wrong = ALPHABET[(ALPHABET.index(check) + 1) % 36]
    with pytest.raises(MistypedSerial):
        parse_serial(body + wrong)
    for junk in ("", "hello", "ZGXT-2026-12-K", "2026-0001234-K"):
        with pytest.raises(InvalidSerial):
            parse_serial(junk)


# ---- public verification -------------------------------------------------------------------------------

def test_verify_by_typed_serial_shows_the_masked_material_fields(client, certified):
    worker, _course, certificate = certified
    typed = certificate.serial.lower().replace("-", " ")
    response = client.get("/verify", query_string={"serial": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-certificate-status="valid"' in page
    for text in (certificate.serial, "张*明", "低压电工作业安全规程", "市总工会", "Level 4"):
        assert text in page
    assert "张小明" not in page and worker.mobile not in page and certificate.token not in page
    assert response.headers["X-Robots-Tag"].startswith("noindex")


def test_the_serial_also_works_in_the_link(client, certified):
    serial = certified[2].serial
    page = client.get(f"/verify/{serial.lower()}").get_data(as_text=True)
    assert 'data-certificate-status="valid"' in page and certified[2].token not in page


def test_a_typo_is_caught_with_a_helpful_message(client, certified):
    serial = certified[2].serial
    typo = serial[:-1] + ALPHABET[(ALPHABET.index(serial[-1]) + 5) % 36]
    response = client.get("/verify", query_string={"serial": typo})
    assert response.status_code == 400 and "typing error" in response.get_data(as_text=True)
    answer = client.get("/verify", query_string={"serial": typo, "format": "json"})
    assert answer.status_code == 400 and "typing error" in answer.get_json()["error"]["message"]


def test_unknown_serials_and_tokens_are_plain_404s(client, certified):
    unknown = format_serial("ZGXT", 2026, 7_654_321)
    assert client.get("/verify", query_string={"serial": unknown}).status_code == 404
    response = client.get(f"/verify/{secrets.token_urlsafe(24)}")
    assert response.status_code == 404 and "ZGXT" not in response.get_data(as_text=True)
    answer = client.get(f"/verify/{secrets.token_urlsafe(24)}?format=json")
    assert answer.status_code == 404 and set(answer.get_json()) == {"error"}


def test_the_json_link_keeps_the_certificate_whatever_the_query_adds(client, certified):
    """A query naming the route's own argument (?token=…) neither breaks the page nor moves its JSON link."""
    certificate = certified[2]
    response = client.get(f"/verify/{certificate.token}", query_string={"token": "other", "lang": "x"})
    assert response.status_code == 200
    link = elements(response.get_data(as_text=True), "a", data_json_link="")[0].get("href")
    parts = urlsplit(link)
    assert parts.path == f"/verify/{certificate.token}"
    assert parse_qs(parts.query) == {"format": ["json"], "lang": ["x"]}


def canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def published_key(client, kid: str) -> Ed25519PublicKey:
    keys = {key["kid"]: key for key in client.get("/verify/keys").get_json()["keys"]}
    assert keys[kid]["alg"] == "EdDSA" and keys[kid]["crv"] == "Ed25519" and "BEGIN PUBLIC KEY" in keys[kid]["pem"]
    return Ed25519PublicKey.from_public_bytes(b64url_decode(keys[kid]["x"]))


def test_json_verifies_offline_with_the_published_key_and_tampering_fails(client, certified):
    certificate = certified[2]
    record = client.get(f"/verify/{certificate.token}?format=json").get_json()
    assert record["status"] == "valid" and record["serial"] == certificate.serial
    assert record["certificate"]["holder"] == "张*明" and "holder_name" not in json.dumps(record)
    public_key = published_key(client, record["key_id"])
    signature = b64url_decode(record["signature"])
    public_key.verify(signature, canonical(record["certificate"]))  # raises if wrong
    by_serial = client.get("/verify", query_string={"serial": certificate.serial, "format": "json"}).get_json()
    assert by_serial["certificate"] == record["certificate"] and by_serial["signature"] == record["signature"]
    for field, value in (("holder", "张*朋"), ("hours", "3"), ("minutes", 91), ("course", "低压电工作业安全规程 "),
                         ("expires_on", None)):
        forged = dict(record["certificate"], **{field: value})
        with pytest.raises(InvalidSignature):
            public_key.verify(signature, canonical(forged))
    raw = bytearray(canonical(record["certificate"]))
    raw[raw.index("张".encode()) + 2] ^= 0x01  # one byte of the name
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, bytes(raw))


def test_the_holder_digest_binds_the_full_name_for_whoever_holds_the_certificate(certified):
    certificate = certified[2]
    assert certificate.document["holder_digest"] == documents.holder_digest(certificate.token, "张小明")
    assert certificate.document["holder_digest"] != documents.holder_digest(certificate.token, "张大明")


def test_revoked_certificates_say_so_with_the_date_and_keep_the_reason_for_the_holder_and_admins(
        app, client, certified, make_admin, tree):
    worker, _course, certificate = certified
    admin = login_client(app, make_admin(tree.district_a))
    assert admin.post(f"/certificates/{certificate.id}/revoke", data={"reason": ""}).status_code == 302
    db.session.refresh(certificate)
    assert certificate.status == "valid"  # a reason is required
    admin.post(f"/certificates/{certificate.id}/revoke", data={"reason": "考核材料不实"})
    page = client.get(f"/verify/{certificate.token}").get_data(as_text=True)
    assert 'data-certificate-status="revoked"' in page and "考核材料不实" not in page  # it may name a person
    db.session.refresh(certificate)
    assert certificate.revoked_at is not None and certificate.revoked_at.year == utcnow().year
    record = client.get("/verify", query_string={"serial": certificate.serial, "format": "json"}).get_json()
    assert record["status"] == "revoked" and record["revoked_at"]
    assert "考核材料不实" not in json.dumps(record, ensure_ascii=False)
    assert "考核材料不实" in admin.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    notice = db.session.scalar(select(Notification).where(Notification.kind == "certificate.revoked"))
    assert notice.user_id == worker.id and "考核材料不实" in notice.body
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.revoked"))
    assert event.data["reason"] == "考核材料不实" and event.object_id == certificate.id
    again = admin.post(f"/certificates/{certificate.id}/revoke", data={"reason": "再次"}, follow_redirects=True)
    assert "Only a valid certificate" in again.get_data(as_text=True)


def test_expired_certificates_say_so(client, tree, make_user, course_for_certificates):
    course = course_for_certificates("叉车安全", certificate_months=1)
    certificate = certificate_of(complete(make_user("李四", union=tree.a1), course,
                                          now=utcnow() - timedelta(days=70)))
    page = client.get(f"/verify/{certificate.token}").get_data(as_text=True)
    assert 'data-certificate-status="expired"' in page and "expired on" in page
    assert client.get(f"/verify/{certificate.token}?format=json").get_json()["status"] == "expired"


def test_reissue_gives_a_new_serial_and_supersedes_the_old(app, client, certified, make_admin, tree):
    worker, course, old = certified
    worker.real_name = "张晓明"  # the name was misspelt
    db.session.commit()
    admin = login_client(app, make_admin(tree.city))
    response = admin.post(f"/certificates/{old.id}/reissue")
    assert response.status_code == 302
    db.session.refresh(old)
    new = db.session.get(Certificate, old.superseded_by_id)
    assert old.status == "superseded" and new.status == "valid" and new.serial != old.serial
    assert new.seq == old.seq + 1 and new.expires_at == old.expires_at
    assert new.snapshot["holder_name"] == "张晓明" and new.document["holder"] == "张*明"
    assert certificate_of(db.session.get(Enrollment, old.enrollment_id)).id == new.id
    assert 'data-certificate-status="superseded"' in client.get(f"/verify/{old.token}").get_data(as_text=True)
    assert 'data-certificate-status="valid"' in client.get(f"/verify/{new.token}").get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.reissued")).data[
        "new_serial"] == new.serial
    again = admin.post(f"/certificates/{old.id}/reissue", follow_redirects=True)
    assert "Only a valid certificate can be reissued" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2


def test_pages_stay_inert_with_hostile_titles_and_names(client, tree, make_user, course_for_certificates):
    for index, payload in enumerate(xss_payloads()[:12]):
        course = course_for_certificates(payload[:200])
        certificate = certificate_of(complete(make_user(payload[:50], union=tree.a1), course))
        assert_inert(client.get(f"/verify/{certificate.token}").get_data(as_text=True))
        if index == 0:
            assert_inert(client.get("/verify", query_string={"serial": payload}).get_data(as_text=True))


# ---- rate limits and enumeration ----------------------------------------------------------------------------

def test_ten_thousand_random_tokens_find_nothing(certified):
    assert all(verification.by_token(secrets.token_urlsafe(24)) is None for _ in range(10_000))


def test_the_caller_is_rate_limited(client, certified):
    statuses = [client.get(f"/verify/{secrets.token_urlsafe(24)}").status_code for _ in range(31)]
    assert statuses == [404] * 30 + [429]
    # the budget is shared: serial look-ups and the QR link of a real certificate are refused too
    assert client.get("/verify", query_string={"serial": certified[2].serial}).status_code == 429
    assert client.get(f"/verify/{certified[2].token}").status_code == 429
    assert client.get("/verify").status_code == 200  # the empty form costs nothing
    other = client.get(f"/verify/{certified[2].token}", environ_base={"REMOTE_ADDR": "10.8.8.8"})
    assert other.status_code == 200


# ---- admins: scope and lists -----------------------------------------------------------------------------

def test_admins_reach_the_certificates_of_their_scope_only(app, certified, make_admin, make_user, tree):
    certificate = certified[2]
    outsider = make_admin(tree.district_b)
    outsider_client = login_client(app, outsider)
    for url in (f"/certificates/{certificate.id}", f"/certificates/{certificate.id}/pdf"):
        assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "x"}).status_code == 404
    assert certificate.serial not in outsider_client.get("/certificates/").get_data(as_text=True)
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scope.denied",
                                                         AuditEvent.actor_id == outsider.id)).all()
    assert len(denied) == 3 and {event.object_type for event in denied} == {"Certificate"}
    for node in (tree.a1, tree.district_a, tree.city):
        page = login_client(app, make_admin(node, f"管理员{node.code}")).get("/certificates/").get_data(as_text=True)
        assert certificate.serial in page
    worker_client = login_client(app, make_user("旁人", union=tree.a1))
    assert worker_client.get("/certificates/").status_code == 403
    assert worker_client.get(f"/certificates/{certificate.id}/pdf").status_code == 404


def test_the_issuing_union_reaches_holders_elsewhere(app, make_course, make_user, make_admin, tree):
    course = make_course("公交安全驾驶", lessons=0, min_lesson_share=0, scope=tree.city)
    course.host_union_id = tree.industry.id
    db.session.commit()
    certificate = certificate_of(complete(make_user("王五", union=tree.b1), course))
    page = login_client(app, make_admin(tree.industry)).get("/certificates/").get_data(as_text=True)
    assert certificate.serial in page


def test_admin_list_filters(app, tree, make_user, make_admin, course_for_certificates):
    welding, driving = course_for_certificates("焊工工艺"), course_for_certificates("安全驾驶")
    old = certificate_of(complete(make_user("甲", union=tree.a1), welding, now=utcnow() - timedelta(days=40)))
    certificate_of(complete(make_user("乙", union=tree.a1), driving))
    revoked = certificate_of(complete(make_user("丙", union=tree.a1), driving))
    revocation.revoke(revoked, "重复发放", actor=make_admin(tree.city, "市管理员"), now=utcnow())
    db.session.commit()
    client = login_client(app, make_admin(tree.district_a))

    def serials(**args):
        page = client.get("/certificates/", query_string=args).get_data(as_text=True)
        return set(re.findall(r'data-admin-certificate="([^"]+)"', page))

    assert len(serials()) == 3
    assert serials(course="焊工") == {old.serial}
    assert serials(status="revoked") == {revoked.serial}
    assert len(serials(status="valid")) == 2
    assert serials(issued_to=(utcnow() - timedelta(days=20)).date().isoformat()) == {old.serial}
    assert old.serial not in serials(issued_from=(utcnow() - timedelta(days=1)).date().isoformat())


# ---- holders --------------------------------------------------------------------------------------------

def test_the_holder_sees_and_downloads_their_certificates_and_nobody_else_can(app, certified, make_user, tree):
    worker, _course, certificate = certified
    page = login_client(app, worker).get("/me/certificates").get_data(as_text=True)
    assert certificate.serial in page and "data-download-pdf" in page
    stranger = login_client(app, make_user("路人", union=tree.a1))
    assert certificate.serial not in stranger.get("/me/certificates").get_data(as_text=True)
    for url in (f"/certificates/{certificate.id}/pdf", f"/certificates/{certificate.id}/badge.jwt"):
        assert stranger.get(url).status_code == 404


def test_the_home_page_shows_certificates_and_waiting_checks(app, certified, make_admin, tree):
    worker, _course, certificate = certified
    assert certificate.serial in login_client(app, worker).get("/").get_data(as_text=True)
    page = login_client(app, make_admin(tree.district_a)).get("/").get_data(as_text=True)
    assert "0 skill-level certificates wait for your check" in page


# ---- external skill-level certificates: the level they set ---------------------------------------------

_skill_serials = itertools.count(1)


def skill_record(user, level: int, *, union, status: str = "submitted") -> ExternalSkillCertificate:
    """A skill-level certificate the worker recorded (the scan itself is not needed here)."""
    row = ExternalSkillCertificate(
        user_id=user.id, union_id=union.id, number=f"S07313200010525{level}{next(_skill_serials):06d}",
        occupation="电工", level=level, evaluation_body="市职业技能鉴定中心", issued_on=date(2025, 6, 1),
        scan_name="scan.png", scan_stored_name=secrets.token_hex(16) + ".png", scan_content_type="image/png",
        scan_size=10, status=status, submitted_at=utcnow())
    db.session.add(row)
    db.session.commit()
    return row


def level_of(user) -> int | None:
    return db.session.scalar(select(User.skill_level).where(User.id == user.id))


def test_the_highest_verified_skill_certificate_sets_the_level(app, tree, make_user, make_admin):
    """Levels run from 1 (一级/高级技师, the highest) to 5 (五级/初级工): the highest is the smallest number."""
    worker = make_user("赵六", union=tree.a1)
    technician, intermediate = skill_record(worker, 2, union=tree.a1), skill_record(worker, 4, union=tree.a1)
    senior_technician = skill_record(worker, 1, union=tree.a1)
    admin = login_client(app, make_admin(tree.a1))
    admin.post(f"/certificates/skills/{technician.id}/verify")
    assert level_of(worker) == 2
    admin.post(f"/certificates/skills/{intermediate.id}/verify")  # verified later, but lower: no change
    assert level_of(worker) == 2
    admin.post(f"/certificates/skills/{senior_technician.id}/reject", data={"reason": "编号与扫描件不符"})
    assert level_of(worker) == 2  # a rejected one counts for nothing
    assert skills.level_after_verification(None, 4) == 4 and skills.level_after_verification(2, 4) == 2
    assert skills.level_after_verification(4, 3) == 3


def test_a_verified_certificate_never_lowers_the_level_the_union_recorded(app, tree, make_user, make_admin):
    worker = make_user("钱七", union=tree.a1, skill_level=3)  # from the union's member import
    older, newer = skill_record(worker, 4, union=tree.a1), skill_record(worker, 2, union=tree.a1)
    admin = login_client(app, make_admin(tree.district_a))
    admin.post(f"/certificates/skills/{older.id}/verify")
    assert level_of(worker) == 3
    admin.post(f"/certificates/skills/{newer.id}/verify")
    assert level_of(worker) == 2


# ---- commands -------------------------------------------------------------------------------------------

def test_backfill_issues_missing_certificates_exactly_once(app, runner, tree, make_user, course_for_certificates):
    course = course_for_certificates()
    finished = utcnow() - timedelta(days=3)
    people = [make_user(f"老学员{index}", union=tree.a1) for index in range(3)]
    for person in people:  # completed before certificates existed: no event fired
        db.session.add(Enrollment(user_id=person.id, course_id=course.id, status="completed", enrolled_at=finished,
                                  completed_at=finished))
    db.session.add(Enrollment(user_id=make_user("未完成", union=tree.a1).id, course_id=course.id, status="enrolled"))
    db.session.commit()
    result = runner.invoke(args=["certificates", "backfill"])
    assert result.exit_code == 0 and "3 certificate(s) issued" in result.output
    assert runner.invoke(args=["certificates", "backfill"]).output.startswith("0 certificate(s)")
    certificates = db.session.scalars(select(Certificate)).all()
    assert sorted(c.user_id for c in certificates) == sorted(p.id for p in people)
    assert len({c.serial for c in certificates}) == 3
    assert all(c.issued_at == finished and verification.signature_holds(c) for c in certificates)


def test_rotating_the_key_keeps_old_signatures_valid(runner, client, tree, make_user, course_for_certificates):
    course = course_for_certificates()
    before = certificate_of(complete(make_user("甲", union=tree.a1), course))
    result = runner.invoke(args=["certificates", "rotate-key"])
    assert result.exit_code == 0 and "new signing key" in result.output
    after = certificate_of(complete(make_user("乙", union=tree.a1), course))
    assert before.key_id != after.key_id
    keys = client.get("/verify/keys").get_json()["keys"]
    assert [key["active"] for key in keys] == [True, False] and keys[0]["kid"] == after.key_id
    for certificate in (before, after):
        record = client.get(f"/verify/{certificate.token}?format=json").get_json()
        published_key(client, record["key_id"]).verify(b64url_decode(record["signature"]),
                                                      canonical(record["certificate"]))
    assert db.session.scalar(select(func.count()).select_from(SigningKey).where(SigningKey.is_active)) == 1
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "certificate.key_rotated"))


def test_the_signing_key_comes_from_the_setting_and_changing_it_rotates(app, runner, client, tree, make_user,
                                                                        course_for_certificates):
    from config import _new_signing_key_pem
    from courses.certificates.signing import _private_from_pem, raw_public, thumbprint

    def kid_of(pem: str) -> str:
        return thumbprint(raw_public(_private_from_pem(pem).public_key()))

    first_pem, second_pem = _new_signing_key_pem(), _new_signing_key_pem()
    app.config["CERTIFICATE_SIGNING_KEY"] = first_pem
    course = course_for_certificates()
    first = certificate_of(complete(make_user("甲", union=tree.a1), course))
    assert first.key_id == kid_of(first_pem)
    app.config["CERTIFICATE_SIGNING_KEY"] = second_pem  # the operator sets a new key: it signs from now on
    second = certificate_of(complete(make_user("乙", union=tree.a1), course))
    assert second.key_id == kid_of(second_pem)
    keys = client.get("/verify/keys").get_json()["keys"]
    assert [(key["kid"], key["active"]) for key in keys] == [(kid_of(second_pem), True), (kid_of(first_pem), False)]
    for certificate in (first, second):  # both still verify with nothing but the published keys
        record = client.get(f"/verify/{certificate.token}?format=json").get_json()
        published_key(client, record["key_id"]).verify(b64url_decode(record["signature"]),
                                                      canonical(record["certificate"]))
    assert runner.invoke(args=["certificates", "rotate-key"]).exit_code == 0
    third = certificate_of(complete(make_user("丙", union=tree.a1), course))
    assert third.key_id not in (kid_of(first_pem), kid_of(second_pem))  # the CLI's key stays active
    assert db.session.scalar(select(func.count()).select_from(SigningKey).where(SigningKey.is_active)) == 1


def test_a_key_can_be_imported_from_a_pem(runner, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from courses.certificates.signing import raw_public, thumbprint

    private_key = Ed25519PrivateKey.generate()
    path = tmp_path / "key.pem"
    path.write_bytes(private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    result = runner.invoke(args=["certificates", "rotate-key", "--private-key", str(path)])
    assert result.exit_code == 0, result.output
    assert thumbprint(raw_public(private_key.public_key())) in result.output


def test_demo_data_has_certificates(app, runner, tmp_path):
    from courses.certificates.models import ExternalSkillCertificate

    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    assert runner.invoke(args=["seed-demo", "--workers", "30"]).exit_code == 0  # runs seed_certificates
    certificates = db.session.scalars(select(Certificate)).all()
    assert certificates and all(verification.signature_holds(c) for c in certificates)
    demo_worker = db.session.scalar(select(User).where(User.mobile == "13800000006"))
    assert demo_worker.id in {c.user_id for c in certificates} and len(certificates) > 1
    assert db.session.scalar(select(ExternalSkillCertificate.status)) == "submitted"

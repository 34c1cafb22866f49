"""Personal-data rights (PIPL): consents and their withdrawal, the data download, closing the
account (personal data gone from every table, records others rely on kept), re-consent to a new
privacy-notice version."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select

from classroom.accounts import privacy
from classroom.accounts.models import Consent, Invitation, LoginSession, PasswordReset, User
from classroom.audit import AuditEvent, record_event
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.registry import registry
from classroom.unions.models import Membership
from tests.factories import PASSWORD, login_client
from tests.helpers import everything_in_the_database

VALID_ID = "11010519491231002X"
NAME, MOBILE, EMAIL = "欧阳娜娜", "13512345678", "ouyang@example.cn"


@pytest.fixture
def person(app, tree, make_user):
    """A member who registered (consented), applied with an ID card, was approved and notified."""
    client = app.test_client()
    client.post("/auth/register", data={"real_name": NAME, "mobile": MOBILE, "password": PASSWORD,
                                        "confirm": PASSWORD, "union_id": tree.a1.id, "consent": "y"})
    user = db.session.scalar(select(User).where(User.mobile == MOBILE))
    user.email, user.employer, user.trade, user.birth_year = EMAIL, "华东机电", "电工", 1990
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    db.session.delete(membership)
    db.session.commit()
    client.post("/me/membership/apply", data={"union_id": tree.a1.id, "id_card": VALID_ID, "id_card_consent": "y"})
    return user


def export(client) -> dict:
    response = client.get("/me/privacy/export")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    return json.loads(response.get_data(as_text=True))


def test_privacy_page_lists_consents_and_withdraws_the_id_card_one(app, person, make_user):
    client = login_client(app, person)
    other = login_client(app, make_user("别人"))
    id_card = db.session.scalar(select(Consent).where(Consent.user_id == person.id, Consent.what == "id_card"))
    other.post(f"/me/privacy/consents/{id_card.id}/withdraw")  # nobody withdraws another's consent
    db.session.refresh(id_card)
    assert id_card.withdrawn_at is None
    page = client.get("/me/privacy").get_data(as_text=True)
    assert 'data-consent="privacy_notice"' in page and 'data-consent="id_card"' in page
    assert app.config["PRIVACY_NOTICE_VERSION"] in page
    consents = {c.what: c for c in db.session.scalars(select(Consent).where(Consent.user_id == person.id))}
    refused = client.post(f"/me/privacy/consents/{consents['privacy_notice'].id}/withdraw", follow_redirects=True)
    assert "close your account" in refused.get_data(as_text=True)
    client.post(f"/me/privacy/consents/{consents['id_card'].id}/withdraw")
    db.session.expire_all()
    assert consents["privacy_notice"].withdrawn_at is None and consents["id_card"].withdrawn_at is not None
    membership = db.session.scalar(select(Membership).where(Membership.user_id == person.id))
    assert (membership.id_card_encrypted, membership.id_card_hash, membership.id_card_masked) == (None, None, None)


def test_download_holds_the_persons_data_and_nobody_elses(app, tree, person, make_user, make_admin):
    neighbour = make_user("邻居王芳", union=tree.a1, mobile="13698765432", email="wang@example.cn")
    admin = make_admin(tree.a1, name="管理员赵")
    admin_client = login_client(app, admin)
    application = db.session.scalar(select(Membership).where(Membership.user_id == person.id))
    admin_client.post(f"/unions/{tree.a1.id}/applications/{application.id}/approve")
    admin_client.get(f"/unions/{tree.a1.id}/members/{neighbour.id}")
    notify(neighbour, "test.note", "neighbour-note", "给邻居的通知", now=utcnow())
    db.session.commit()
    registry(app).data_sections["hours"] = lambda user: {"total_minutes": 90, "user": user.id}  # a feature's part
    data = export(login_client(app, person))
    assert data["hours"] == {"total_minutes": 90, "user": person.id}
    assert data["profile"]["real_name"] == NAME and data["profile"]["mobile"] == MOBILE
    assert data["memberships"][0]["member_no"] == "A1-000002" and data["memberships"][0]["id_card"] == VALID_ID
    assert {c["what"] for c in data["consents"]} == {"privacy_notice", "id_card"}
    assert [n["kind"] for n in data["notifications"]] == ["membership.approved"]
    assert data["login_sessions"] and data["login_sessions"][0]["ip"]
    assert {e["action"] for e in data["audit_events"]} >= {"membership.approve"}
    text = json.dumps(data, ensure_ascii=False)
    for foreign in ("邻居王芳", "13698765432", "wang@example.cn", "管理员赵", admin.mobile, "给邻居的通知", "A1-000001"):
        assert foreign not in text, foreign
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "privacy.export")) is not None


def union_hours_totals() -> dict | None:
    try:
        from courses.hours.models import HoursEntry
    except ImportError:
        return None
    rows = db.session.execute(select(HoursEntry.union_id, func.sum(HoursEntry.minutes)).group_by(HoursEntry.union_id))
    return dict(rows.all())


def add_hours(user, union, minutes: int, key: str) -> None:
    try:
        from courses.hours.models import HoursEntry
    except ImportError:
        return
    db.session.execute(insert(HoursEntry).values(user_id=user.id, minutes=minutes, source="external", source_key=key,
                                                  earned_on=date.today(), union_id=union.id, created_at=utcnow()))


def test_closing_the_account_erases_the_person_everywhere_and_keeps_the_records(app, tree, person, make_admin,
                                                                               make_user):
    admin = make_admin(tree.a1)
    admin_client = login_client(app, admin)
    application = db.session.scalar(select(Membership).where(Membership.user_id == person.id))
    admin_client.post(f"/unions/{tree.a1.id}/applications/{application.id}/approve")
    admin_client.post(f"/unions/{tree.a1.id}/members/{person.id}/reset-link")
    colleague = make_user("同事", union=tree.a1)
    record_event(admin, "member.note", person, union_id=tree.a1.id, note=f"{NAME}（{MOBILE}）调岗")
    db.session.add(Invitation(user_id=person.id, token_hash="0" * 64, expires_at=utcnow() + timedelta(days=1)))
    add_hours(person, tree.a1, 90, "x:1")
    add_hours(colleague, tree.a1, 45, "x:2")
    db.session.commit()
    totals, events = union_hours_totals(), db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert totals is None or totals[tree.a1.id] == 135
    other_device = login_client(app, person)
    client = login_client(app, person)
    wrong = client.post("/me/privacy/close", data={"password": "not-my-password", "understood": "y"})
    assert "password is not right" in wrong.get_data(as_text=True)
    response = client.post("/me/privacy/close", data={"password": PASSWORD, "understood": "y"})
    assert response.status_code == 302
    assert client.get("/me").status_code == 302 and other_device.get("/me").status_code == 302
    assert app.test_client().post("/auth/login", data={"identifier": MOBILE, "password": PASSWORD}).status_code == 200
    assert app.test_client().post("/auth/login", data={"identifier": EMAIL, "password": PASSWORD}).status_code == 200
    db.session.expire_all()
    dump = everything_in_the_database()
    for secret in (NAME, MOBILE, EMAIL, VALID_ID, "110************02X"):
        assert secret not in dump, secret
    closed = db.session.get(User, person.id)
    assert (closed.real_name, closed.is_active, closed.password_hash, closed.closed_at is not None) == (
        f"已注销用户#{person.id}", False, None, True)
    membership = db.session.scalar(select(Membership).where(Membership.user_id == person.id))
    assert (membership.member_no, membership.status) == ("A1-000001", "lapsed")
    assert union_hours_totals() == totals
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events + 1  # + account.close
    for model in (LoginSession, Invitation, PasswordReset):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == person.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Consent).where(
        Consent.user_id == person.id, Consent.withdrawn_at.is_(None))) == 0
    members_page = admin_client.get(f"/unions/{tree.a1.id}/members").get_data(as_text=True)
    assert f"已注销用户#{person.id}" in members_page


def test_features_erase_their_part_first(app, person):
    seen = []
    erasure = lambda user, now: seen.append(user.real_name)  # noqa: E731
    registry(app).erasures.insert(0, erasure)
    privacy.close_account(person, PASSWORD, now=utcnow())
    db.session.commit()
    assert seen == [NAME]


@pytest.mark.parametrize("app_config", [{"PRIVACY_NOTICE_VERSION": "2027-01"}])
def test_a_new_notice_version_asks_for_consent_at_the_next_log_in(app, person, make_user):
    assert db.session.scalar(select(Consent.version).where(Consent.what == "privacy_notice")) == "2027-01"
    consent = db.session.scalar(select(Consent).where(Consent.what == "privacy_notice"))
    consent.version = "2026-11"  # the person agreed to the earlier notice
    db.session.commit()
    client = login_client(app, person)
    response = client.get("/me")
    assert response.status_code == 302 and response.location.startswith("/me/privacy/consent?next=/me")
    assert client.get("/courses/").status_code == 302
    page = client.get("/me/privacy/consent").get_data(as_text=True)
    assert "2027-01" in page
    assert "Agree to the privacy notice" in client.post("/me/privacy/consent", data={}).get_data(as_text=True)
    response = client.post("/me/privacy/consent?next=/me", data={"consent": "y"})
    assert response.status_code == 302 and response.location == "/me"
    assert client.get("/me").status_code == 200
    versions = db.session.scalars(select(Consent.version).where(Consent.user_id == person.id,
                                                               Consent.what == "privacy_notice")).all()
    assert sorted(versions) == ["2026-11", "2027-01"]
    assert login_client(app, make_user("管理员建的")).get("/me").status_code == 200  # never agreed: not stopped


def test_invited_people_who_reset_instead_are_asked_too(app, tree, make_admin):
    from classroom.unions.import_commit import run_import
    from classroom.unions.import_files import ImportRow

    run_import([ImportRow(2, "新人", "13700000001")], tree.a1, actor=make_admin(tree.a1), now=utcnow())
    user = db.session.scalar(select(User).where(User.mobile == "13700000001"))
    user.password_hash = db.session.scalar(select(User.password_hash).where(User.password_hash.is_not(None)))
    db.session.commit()
    client = login_client(app, user)
    assert client.get("/me").location.startswith("/me/privacy/consent")

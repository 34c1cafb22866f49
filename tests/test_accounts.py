"""Registration, log-in, sessions, passwords and profiles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from classroom.accounts.models import Consent, LoginSession, User
from classroom.accounts.services import PROFILE_FIELDS, update_profile
from classroom.database import utcnow
from classroom.domain import Invalid
from classroom.extensions import db
from classroom.unions.models import Membership
from tests.conftest import auth_cache_settings
from tests.factories import PASSWORD
from tests.helpers import assert_inert, xss_payloads
from tests.markup import elements, selected


@pytest.fixture(params=["database", "auth-cache"])
def app_config(request):
    """Every test here runs twice: log-ins read from the database on each request, and through
    the Redis-checked log-in cache (classroom/accounts/session_cache.py), which must behave alike."""
    return {} if request.param == "database" else auth_cache_settings()


def register(client, union, **overrides):
    data = {"real_name": "李四", "mobile": "13912345678", "password": "Steel-Worker-2026",
            "confirm": "Steel-Worker-2026", "union_id": union.id, "consent": "y", **overrides}
    return client.post("/auth/register", data=data)


def test_register_creates_account_consent_and_application(client, tree, app):
    response = register(client, tree.a1, mobile="+86 139-1234-5678")
    assert response.status_code == 302 and response.location.endswith("/me")
    user = db.session.scalar(select(User).where(User.mobile == "13912345678"))
    assert user.real_name == "李四" and user.password_hash.startswith("$argon2id$")
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
    assert (consent.what, consent.version) == ("privacy_notice", app.config["PRIVACY_NOTICE_VERSION"])
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert (membership.union_id, membership.status, membership.member_no) == (tree.a1.id, "applied", None)
    page = client.get("/me").get_data(as_text=True)
    assert 'data-membership-status="applied"' in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mobile": "12345"}, "11-digit"),
        ({"mobile": "23912345678"}, "11-digit"),
        ({"password": "short1", "confirm": "short1"}, "at least 8"),
        ({"password": "password123", "confirm": "password123"}, "too easy"),
        ({"password": "woaini1314", "confirm": "woaini1314"}, "too easy"),
        ({"password": "x" * 129, "confirm": "x" * 129}, "at most 128"),
        ({"confirm": "Different-2026"}, "passwords differ"),
        ({"consent": ""}, "consent"),
        ({"union_id": ""}, "grassroots union"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(client, tree, overrides, message):
    response = register(client, tree.a1, **overrides)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User.id)) is None


def test_register_refuses_a_non_grassroots_union(client, tree):
    response = register(client, tree.district_a)
    assert "Choose your grassroots union" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.id)) is None


def test_password_of_64_characters_is_allowed(client, tree):
    long_password = "长城-Steel-" + "k" * 54
    assert register(client, tree.a1, password=long_password, confirm=long_password).status_code == 302


def test_register_twice_with_one_mobile(client, tree, make_user):
    make_user(mobile="13912345678", union=tree.a1)
    response = register(client, tree.a1)
    assert "already registered" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.real_name == "李四")) is None


def test_union_search_finds_by_employer_and_renders_without_js(client, tree):
    found = client.get("/auth/unions.json?q=银泰").json
    assert [item["id"] for item in found] == [tree.b1.id]
    page = client.post("/auth/register", data={"union_query": "公交", "search": "1"}).get_data(as_text=True)
    assert "公交集团工会" in page and "银泰商场工会" not in page


@pytest.mark.parametrize("app_config", [{"REGISTER_LIMIT_PER_IP": "1000 per hour"}])
def test_names_and_employers_render_inert_on_every_page_showing_them(app, client, tree, make_admin):
    admin = make_admin(tree.a1)
    people = []
    for index, payload in enumerate(xss_payloads()):
        response = register(client, tree.a1, real_name=payload[:50], mobile=f"1391234{index:04d}")
        assert response.status_code == 302, payload
        people.append(db.session.scalar(select(User).where(User.mobile == f"1391234{index:04d}")))
        assert_inert(client.get("/me").get_data(as_text=True))
        assert_inert(client.get("/").get_data(as_text=True))
        client.post("/auth/logout")
    admin_client = app.test_client()
    admin_client.post("/auth/login", data={"identifier": admin.mobile, "password": PASSWORD})
    for url in (f"/unions/{tree.a1.id}/applications", f"/unions/{tree.a1.id}/members",
                f"/unions/{tree.a1.id}/members?q=%3Cscript%3E"):
        assert_inert(admin_client.get(url).get_data(as_text=True))
    for person in people[:10]:
        assert_inert(admin_client.get(f"/unions/{tree.a1.id}/members/{person.id}").get_data(as_text=True))


def test_login_by_mobile_and_by_email(client, auth, make_user, tree):
    user = make_user(union=tree.a1, email="li@example.cn")
    assert auth.login(user).status_code == 302
    assert client.get("/me").status_code == 200
    auth.logout()
    assert auth.login("LI@example.cn").status_code == 302


def test_wrong_password_and_unknown_mobile_get_one_message(client, auth, make_user, tree):
    user = make_user(union=tree.a1)
    wrong = auth.login(user, "Not-The-Password-1").get_data(as_text=True)
    unknown = auth.login("13700000000").get_data(as_text=True)
    message = "The mobile number, email or password is not right."
    assert message in wrong and message in unknown


def test_login_rotates_the_session_and_logout_ends_it(app, auth, make_user, tree):
    user = make_user(union=tree.a1)
    client = auth.client
    client.get("/auth/login?lang=zh_CN")  # a visitor's session (it holds the language)
    before = client.get_cookie("classroom_session").value
    auth.login(user)
    after = client.get_cookie("classroom_session").value
    assert before != after
    stolen = after
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("classroom_session", stolen)
    assert replay.get("/me").status_code == 302  # sent to log in: the server ended the session
    assert db.session.scalar(select(LoginSession.revoked_at)) is not None


def test_remember_me_survives_a_closed_browser(app, make_user, tree):
    user = make_user(union=tree.a1)
    client = app.test_client()
    client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("classroom_remember")
    assert remember is not None
    fresh = app.test_client()
    fresh.set_cookie("classroom_remember", remember.value)
    assert fresh.get("/me").status_code == 200


def test_disabled_user_is_logged_out_at_next_request(app, auth, make_user, tree, site_admin):
    user = make_user(union=tree.a1)
    auth.login(user)
    assert auth.client.get("/me").status_code == 200
    admin = app.test_client()
    admin.post("/auth/login", data={"identifier": site_admin.mobile, "password": PASSWORD})
    assert admin.post(f"/admin/users/{user.id}/disable").status_code == 302
    assert auth.client.get("/me").status_code == 302
    assert auth.login(user).status_code == 200  # and cannot log in again


def test_change_password_ends_other_sessions(app, auth, make_user, tree):
    user = make_user(union=tree.a1)
    other_device = app.test_client()
    other_device.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
    auth.login(user)
    response = auth.client.post("/me/password", data={"current": PASSWORD, "new": "Brand-New-Pass-9",
                                                      "confirm": "Brand-New-Pass-9"})
    assert response.status_code == 302
    assert auth.client.get("/me").status_code == 200
    assert other_device.get("/me").status_code == 302
    auth.logout()
    assert auth.login(user, "Brand-New-Pass-9").status_code == 302


def test_change_password_checks_the_current_one(auth, make_user, tree):
    user = make_user(union=tree.a1)
    auth.login(user)
    page = auth.client.post("/me/password", data={"current": "wrong-one-1", "new": "Brand-New-Pass-9",
                                                  "confirm": "Brand-New-Pass-9"}).get_data(as_text=True)
    assert "current password is not right" in page


def test_profile_update(auth, make_user, tree):
    user = make_user(union=tree.a1, skill_level=4)
    auth.login(user)
    response = auth.client.post("/me/settings", data={
        "email": "Zhang@Example.cn", "employer": "华东机电", "trade": "电工", "skill_level": "1",
        "years_in_trade": "12", "birth_year": "1988", "worker_group": "truck_driver", "locale": "en",
        "timezone": "Asia/Urumqi"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.email, user.worker_group, user.locale, user.timezone, user.birth_year, user.trade) == (
        "zhang@example.cn", "truck_driver", "en", "Asia/Urumqi", 1988, "电工")
    assert user.skill_level == 4  # a crafted skill level is ignored: certificates and the union set it


@pytest.mark.parametrize("posted", ["1", "", "9", "x"])
def test_the_skill_level_is_shown_but_never_taken_from_the_profile_form(auth, make_user, tree, posted):
    user = make_user(union=tree.a1, skill_level=3)
    auth.login(user)
    page = auth.client.get("/me/settings").get_data(as_text=True)
    [select_tag] = elements(page, "select", name="skill_level")
    assert "disabled" in select_tag.attrs and elements(page, id="skill_level-help")
    assert selected(page, "skill_level") == ["3"]
    response = auth.client.post("/me/settings", data={"skill_level": posted, "locale": "en",
                                                      "timezone": "Asia/Shanghai"})
    assert response.status_code == 302  # no error either: the field is not read
    db.session.refresh(user)
    assert user.skill_level == 3


def test_the_profile_service_refuses_the_skill_level(make_user, tree):
    user = make_user(union=tree.a1, skill_level=5)
    with pytest.raises(Invalid):
        update_profile(user, languages=["zh_CN", "en"], now=utcnow(), skill_level=1)
    assert user.skill_level == 5 and "skill_level" not in PROFILE_FIELDS


def test_registration_takes_no_skill_level(client, tree):
    assert register(client, tree.a1, skill_level="1").status_code == 302
    user = db.session.scalar(select(User).where(User.mobile == "13912345678"))
    assert user is not None and user.skill_level is None


def test_profile_refuses_an_email_of_another_account(auth, make_user, tree):
    make_user("王五", email="taken@example.cn")
    user = make_user(union=tree.a1)
    auth.login(user)
    page = auth.client.post("/me/settings", data={"email": "taken@example.cn", "locale": "zh_CN",
                                                  "timezone": "Asia/Shanghai"}).get_data(as_text=True)
    assert "belongs to another account" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(auth, make_user, tree, target):
    user = make_user(union=tree.a1)
    response = auth.client.post(f"/auth/login?next={target}", data={"identifier": user.mobile, "password": PASSWORD})
    assert response.location == "/"

"""The elder-friendly mode (关怀模式): the switch works without JavaScript, is kept per person and per
browser for visitors, and changes the page; the log-in page's keyboard and error (issue 16)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from classroom.accounts.models import User
from classroom.extensions import db
from tests.conftest import auth_cache_settings
from tests.factories import csrf_token, login_client
from tests.markup import elements, texts


@pytest.fixture(params=["database", "auth-cache"])
def app_config(request):
    return {} if request.param == "database" else auth_cache_settings()


def care_class(client, path: str = "/") -> bool:
    page = client.get(path).get_data(as_text=True)
    return 'class="care"' in page.split("<head>")[0]


def test_a_visitor_switches_it_on_and_off_in_this_browser(client, app):
    assert not care_class(client)
    response = client.post("/care", data={"care": "on", "next": "/courses/?q=电工"})
    assert response.status_code == 303 and response.location == "/courses/?q=%E7%94%B5%E5%B7%A5"
    assert "care=1" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert care_class(client) and care_class(client, "/auth/login")
    switch = elements(client.get("/").get_data(as_text=True), "button", data_care_toggle="")[0]
    assert (switch.get("aria-pressed"), switch.get("value")) == ("true", "off")
    assert app.test_client().get("/").get_data(as_text=True).count('class="care"') == 0  # another browser
    client.post("/care", data={"care": "off", "next": "/"})
    assert not care_class(client)


def test_the_switch_refuses_nonsense_and_foreign_targets(client):
    assert client.post("/care", data={"care": "maybe"}).status_code == 400
    assert client.post("/care", data={"care": "on", "next": "https://evil.example/"}).location == "/"
    assert client.post("/care", data={"care": "on", "next": "//evil.example/x"}).location == "/"
    assert client.get("/care").status_code == 405


def test_the_switch_sends_back_to_this_page_never_to_a_control_character(client):
    def back(path: str) -> str:
        [field] = elements(client.get(path).get_data(as_text=True), "input", name="next")
        return field.get("value")

    assert back("/courses/?q=%E7%94%B5%E5%B7%A5") == "/courses/?q=%E7%94%B5%E5%B7%A5" and back("/courses/") == "/courses/"
    response = client.get("/verify/%00")  # refused (400), and its page must not write the NUL back
    assert response.status_code == 400 and "\x00" not in response.get_data(as_text=True)
    [field] = elements(response.get_data(as_text=True), "input", name="next")
    assert field.get("value") == "/"


def test_a_person_keeps_it_on_every_device(app, make_user, tree):
    user = make_user(union=tree.a1)
    phone = login_client(app, user)
    assert not care_class(phone, "/me")
    assert phone.post("/care", data={"care": "on", "next": "/me/settings"}).status_code == 303
    assert db.session.scalar(select(User.care_mode).where(User.id == user.id)) is True
    settings = phone.get("/me/settings").get_data(as_text=True)
    section = elements(settings, "button", data_care_setting="")[0]
    assert section.get("value") == "off" and 'class="care"' in settings.split("<head>")[0]
    tablet = login_client(app, user)  # a device that never pressed the switch
    assert care_class(tablet, "/me")
    tablet.post("/care", data={"care": "off", "next": "/me"})
    assert not care_class(phone, "/me")
    assert db.session.scalar(select(User.care_mode).where(User.id == user.id)) is False


def test_care_mode_flattens_the_workers_menu(app, make_user, tree):
    client = login_client(app, make_user(union=tree.a1))
    assert elements(client.get("/").get_data(as_text=True), "a", data_bs_toggle="dropdown")
    client.post("/care", data={"care": "on", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert not elements(page, "a", data_bs_toggle="dropdown")
    assert [a.get("href") for a in elements(page, "a", **{"class": "nav-link"})][2:7] == [
        "/courses/mine", "/checkin", "/me/hours", "/me/certificates", "/me"]


def test_the_switch_needs_the_csrf_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert client.post("/care", data={"care": "on"}).status_code == 400
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/care", data={"care": "on", "csrf_token": token, "next": "/"}).status_code == 303


def test_log_in_opens_the_digit_keypad_and_announces_its_error(client, make_user, tree):
    page = client.get("/auth/login").get_data(as_text=True)
    assert elements(page, "input", id="identifier")[0].get("inputmode") == "tel"
    assert elements(page, "a", **{"class": "skip-link"})[0].get("href") == "#main" and elements(page, "main", id="main")
    email = client.get("/auth/login?with=email").get_data(as_text=True)
    assert elements(email, "input", id="identifier")[0].get("inputmode") == "email"
    make_user(mobile="13912345678", union=tree.a1)
    failed = client.post("/auth/login", data={"identifier": "13912345678", "password": "wrong-password"})
    assert any(role == "alert" and "not right" in text for role, text in texts(failed.get_data(as_text=True), "role"))

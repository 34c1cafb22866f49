# ruff: noqa: F811 - the shared fixtures are imported from tests.test_certificates
"""The hot public pages (issue 20): what they keep between requests, and that what they keep never
hides a change — a revoked certificate, a flashed message, a signed-in reader — and stays bounded."""

from __future__ import annotations

import re

import pytest

from classroom.cache import app_cache
from courses.catalog.content import _rendered, render_markdown
from tests.factories import login_client
from tests.helpers import same_page, sql_statements
from tests.test_certificates import certified, course_for_certificates  # noqa: F401 - fixtures


@pytest.fixture
def app_config() -> dict:
    return {"CATALOGUE_CACHE_SECONDS": 60}  # the visitors' home panels kept, as in production


def test_a_visitors_verification_page_reads_one_statement_and_a_revocation_shows_at_once(app, client, certified,
                                                                                         make_admin, tree):
    _worker, _course, certificate = certified
    link = f"/verify/{certificate.token}"
    first = client.get(link).get_data(as_text=True)
    with sql_statements() as seen:
        again = client.get(link).get_data(as_text=True)
    assert same_page(again) == same_page(first) and 'data-certificate-status="valid"' in again
    assert len(seen) == 1, [s[:90] for s in seen]  # the certificate's standing: status, revocation, replacement
    # another visitor's page carries their own chrome: their CSRF token, their care mode
    other = app.test_client()
    other.post("/care", data={"care": "on", "next": "/"})
    theirs = other.get(link).get_data(as_text=True)
    assert 'class="care"' in theirs and 'class="care"' not in first
    assert _csrf_tokens(theirs) and not set(_csrf_tokens(theirs)) & set(_csrf_tokens(first))
    admin = login_client(app, make_admin(tree.district_a))
    admin.post(f"/certificates/{certificate.id}/revoke", data={"reason": "考核材料不实"})
    assert 'data-certificate-status="revoked"' in client.get(f"/verify/{certificate.token}").get_data(as_text=True)
    mine = admin.get(f"/verify/{certificate.token}").get_data(as_text=True)  # a signed-in reader: their own chrome
    assert "Log out" in mine and "Log out" not in first


def _csrf_tokens(page: str) -> list[str]:
    return re.findall(r'name="csrf_token" value="([^"]+)"', page)


def test_a_kept_verification_page_still_shows_a_visitors_flashed_message(app, client, certified):
    certificate = certified[2]
    client.get(f"/verify/{certificate.token}")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message for this visitor")]
    assert "A message for this visitor" in client.get(f"/verify/{certificate.token}").get_data(as_text=True)
    assert "A message for this visitor" not in client.get(f"/verify/{certificate.token}").get_data(as_text=True)


def test_the_visitors_home_panels_are_drawn_once_per_language(app, client, make_course, tree):
    make_course("高压电工安全")
    first = client.get("/").get_data(as_text=True)
    with sql_statements() as seen:
        again = client.get("/").get_data(as_text=True)
    assert "高压电工安全" in first and "高压电工安全" in again
    assert seen == []  # no query at all for a visitor's second look
    english = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Worker Classroom" in english
    assert len(app_cache("visitor-home")._entries) <= app_cache("visitor-home").max_entries


def test_markdown_is_kept_per_text_and_bounded():
    _rendered.cache_clear()
    assert render_markdown("**粗体**") == render_markdown("**粗体**") == "<p><strong>粗体</strong></p>\n"
    assert _rendered.cache_info().hits == 1
    for number in range(600):
        render_markdown(f"第 {number} 段")
    assert _rendered.cache_info().currsize == _rendered.cache_info().maxsize == 256


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_visitor_is_served_a_kept_page_with_a_working_csrf_token_of_their_own(app, certified):
    from flask import template_rendered

    from classroom.chrome import CSRF_HOLE

    link = f"/verify/{certified[2].token}"
    app.test_client().get(link)  # the first visitor's look keeps the page
    visitor, drawn = app.test_client(), []

    def note(_sender, template, **_extra):
        drawn.append(template.name)

    template_rendered.connect(note, app)
    try:
        page = visitor.get(link).get_data(as_text=True)
    finally:
        template_rendered.disconnect(note, app)
    assert drawn == [], "a visitor's second look draws no template"
    assert CSRF_HOLE not in page and _csrf_tokens(page)
    switched = visitor.post("/care", data={"csrf_token": _csrf_tokens(page)[0], "care": "on", "next": link})
    assert switched.status_code == 303, "the kept page's form carries this visitor's valid token"
    assert 'class="care"' in visitor.get(link).get_data(as_text=True)
    assert app.test_client().post("/care", data={"care": "on", "next": link}).status_code == 400  # no token: refused

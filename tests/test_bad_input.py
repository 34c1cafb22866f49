"""Input no database column can hold, or of the wrong kind, gets a clear answer (404, a form error,
the default page) and writes nothing: never a 500. Each case is one a fuzzer found answering 500."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from classroom.accounts.models import User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.forms import digits_up_to
from courses.attendance.models import Attendance
from courses.catalog.models import ClassSession
from courses.competitions.models import Competition, CompetitionEvent
from courses.enrollment.services import enroll
from tests.factories import PASSWORD, login_client
from tests.helpers import database_rows, xss_payloads

HUGE = "9" * 20  # above 2**63: SQLite cannot bind it, PostgreSQL's integer columns cannot hold it
ENORMOUS = "9" * 400  # a valid Python int that no float (WTForms' NumberRange) can hold


def city_competition(tree, *, status: str = "draft") -> Competition:
    now = utcnow()
    competition = Competition(title="大赛", organizer_union_id=tree.city.id, status=status, created_at=now,
                              updated_at=now, signup_opens_at=now, signup_closes_at=now, year=2026, level="city",
                              notice_md="x")
    db.session.add(competition)
    db.session.commit()
    return competition


@pytest.mark.parametrize("path", [
    f"/courses/{HUGE}", f"/competitions/{HUGE}", f"/certificates/{HUGE}", f"/unions/{HUGE}",
    f"/competitions/1/files/{HUGE}", f"/me/calendar/{HUGE}-abc.ics", f"/me/calendar/{'²' * 3}-abc.ics",
    f"/teach/sessions/{2**31}/roster", "/me/hours/10000.pdf", "/me/hours/0.pdf",
    "/me/hours?year=99999",
])
def test_ids_no_column_holds_are_not_found(app, tree, make_user, make_admin, path):
    client = login_client(app, make_user(union=tree.a1, role=("site_admin", tree.city)))
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", [f"page={HUGE}", "page=-5", "page=²", f"page={ENORMOUS}"])
def test_any_page_number_gives_a_page(app, tree, make_admin, make_course, query):
    make_course("电工安全")
    admin = login_client(app, make_admin(tree.city))
    for path in ("/courses/", f"/unions/{tree.city.id}/members", "/certificates/"):
        assert admin.get(f"{path}?{query}").status_code == 200, path


def test_query_numbers_out_of_range_are_ignored(app, tree, make_admin, make_course):
    make_course("电工安全")
    admin = login_client(app, make_admin(tree.city))
    competition = city_competition(tree, status="published")
    for path in (f"/competitions/{competition.id}/entries?union={HUGE}&event={HUGE}",
                 f"/competitions/{competition.id}/entries.xlsx?event={HUGE}", f"/reports/hours?union={HUGE}",
                 f"/reports/hours?year={ENORMOUS}", f"/courses/?level={HUGE}&union={HUGE}&within={HUGE}",
                 f"/unions/{tree.city.id}/members?level=%20", f"/unions/{tree.city.id}/members?level=²",
                 f"/unions/{tree.city.id}/members?level={HUGE}", f"/me/hours?year={HUGE}"):
        assert admin.get(path).status_code in (200, 302), path


def test_numbers_too_large_for_a_column_are_form_errors(app, tree, make_user, make_admin):
    person = make_user(union=tree.a1)
    client = login_client(app, person)
    admin = login_client(app, make_admin(tree.a1))
    before = database_rows(skip=("login_session", "audit_event"))
    page = client.post("/me/settings", data={"years_in_trade": ENORMOUS, "locale": "en",
                                             "timezone": "Asia/Shanghai"})
    assert page.status_code == 200 and "Enter a smaller number." in page.get_data(as_text=True)
    for union_id in (HUGE, str(2**31)):
        page = client.post("/me/membership/apply", data={"union_id": union_id})
        assert page.status_code == 200
    response = admin.post(f"/unions/{tree.a1.id}/target", data={"hours": ENORMOUS}, follow_redirects=True)
    assert response.status_code == 200 and "between 0 and 1000" in response.get_data(as_text=True)
    assert database_rows(skip=("login_session", "audit_event")) == before


def test_a_file_posted_in_a_text_field_is_ignored(app, tree, make_user):
    """A file under a text field's name is not that field's text: the form says what is missing."""
    person = make_user(union=tree.a1)
    client = app.test_client()
    for payload in xss_payloads()[:3]:
        page = client.post("/auth/login", content_type="multipart/form-data",
                           data={"identifier": (io.BytesIO(payload.encode()), "x.txt"), "password": PASSWORD})
        assert page.status_code == 200
    page = client.post("/auth/forgot", content_type="multipart/form-data",
                       data={"identifier": (io.BytesIO(b"13800000000"), "x.txt")})
    assert page.status_code == 200
    signed_in = client.post("/auth/login", content_type="multipart/form-data",
                            data={"identifier": person.mobile, "password": PASSWORD, "stray": (io.BytesIO(b"x"), "x")})
    assert signed_in.status_code == 302


def test_a_next_that_is_no_url_goes_home_after_the_change(app, tree, make_user):
    person = make_user(union=tree.a1)
    response = app.test_client().post("/auth/login?next=http://[",
                                      data={"identifier": person.mobile, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_roster_fields_naming_no_person_record_nothing(app, tree, make_course, make_user, instructor):
    course = make_course(lessons=0, sessions=1)
    session = db.session.scalar(select(ClassSession).where(ClassSession.course_id == course.id))
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    teacher = login_client(app, instructor)
    response = teacher.post(f"/teach/sessions/{session.id}/roster",
                            data={"status-²": "present", f"status-{HUGE}": "present", f"status-{2**31}": "present"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{worker.id}": "present"})
    assert db.session.scalar(select(Attendance.user_id)) == worker.id


def test_an_event_requiring_course_zero_is_refused(app, tree, make_admin):
    competition = city_competition(tree)
    organizer = login_client(app, make_admin(tree.city))
    page = organizer.post(f"/competitions/{competition.id}/events/new",
                          data={"name": "电工", "trade": "电工", "required_course_id": "0", "award_first": "1"})
    assert page.status_code == 200 and "Choose a published course." in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CompetitionEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize("prefix", ["", "x"])
def test_the_base_form_keeps_real_uploads_and_drops_stray_files(app, prefix):
    from flask_wtf.file import FileField, MultipleFileField
    from wtforms import StringField

    from classroom.forms import Form

    class Upload(Form):
        class Meta:
            csrf = False

        name = StringField()
        doc = FileField()
        many = MultipleFileField()

    key = f"{prefix}-" if prefix else ""
    with app.test_request_context("/", method="POST", content_type="multipart/form-data", data={
            f"{key}name": (io.BytesIO(b"evil"), "a.txt"), f"{key}doc": (io.BytesIO(b"ok"), "d.txt"),
            f"{key}many": [(io.BytesIO(b"1"), "1.txt"), (io.BytesIO(b"2"), "2.txt")]}):
        form = Upload(prefix=prefix)
        assert form.name.data is None  # a file is no text
        assert form.doc.data.filename == "d.txt" and [f.filename for f in form.many.data] == ["1.txt", "2.txt"]


@pytest.mark.parametrize("request_args", [
    ("get", "/courses/?q=%00", {}), ("get", "/verify/%00", {}), ("get", "/auth/unions.json?q=a%00b", {}),
    ("post", "/auth/login", {"data": {"identifier": "a\x00b", "password": "x"}}),
    ("post", "/auth/forgot", {"data": {"identifier": "138\x0000"}}),
    ("post", "/auth/login", {"data": {"identifier\x00": "a", "password": "x"}}),
])
def test_a_nul_character_anywhere_is_a_bad_request(app, request_args):
    """PostgreSQL text cannot hold NUL: refused up front on every backend, before a query fails."""
    method, path, kwargs = request_args
    response = getattr(app.test_client(), method)(path, **kwargs)
    assert response.status_code == 400


def test_a_nul_in_a_form_field_changes_nothing(app, tree, make_user, make_course, instructor):
    person = make_user(union=tree.a1, employer="旧单位")
    client = login_client(app, person)
    response = client.post("/me/settings", data={"employer": "新\x00单位", "locale": "en", "timezone": "Asia/Shanghai"})
    assert response.status_code == 400
    db.session.refresh(person)
    assert person.employer == "旧单位"
    heartbeat = login_client(app, instructor).post("/courses/1/lessons/1/heartbeat", json={"note": "a\u0000b"})
    assert heartbeat.status_code == 400  # JSON carrying \u0000


def test_a_quota_level_below_the_tree_is_refused(app, tree, make_admin):
    competition = city_competition(tree)
    organizer = login_client(app, make_admin(tree.city))
    for depth in ("3", "32768", HUGE):
        page = organizer.post(f"/competitions/{competition.id}/events/new", data={
            "name": "电工", "trade": "电工", "quota_depth": depth, "quota_per_union": "5", "award_first": "1"})
        assert page.status_code == 200, depth
    assert db.session.scalar(select(func.count()).select_from(CompetitionEvent)) == 0
    assert app.test_client().get(f"/me/calendar/{2**31}-x.ics").status_code == 404


@pytest.mark.parametrize("limit", [0, 7, 10, 19, 20, 99, 100, 1000, 2199, 2**31 - 1])
def test_the_int_converter_s_pattern_stops_at_its_maximum(limit):
    pattern = re.compile(digits_up_to(limit))
    numbers = [*range(0, 2500), *range(limit - 50, limit + 50), limit * 10, limit * 10 + 9, 10 ** len(str(limit))]
    for number in (n for n in numbers if n >= 0):
        for text in (str(number), f"00{number}"):
            assert bool(pattern.fullmatch(text)) is (number <= limit), (limit, text)
    assert not pattern.fullmatch("") and not pattern.fullmatch("-1") and not pattern.fullmatch("1a")


def test_an_id_no_column_holds_is_a_404_beside_a_route_of_another_method(app, tree, make_user):
    """werkzeug chose a route by path and method before it read the number: a DELETE whose PUT at the same
    path came first answered 405 for an id above the maximum."""
    from tests.api_support import bearer, problem, sign_in

    client = app.test_client()
    auth = bearer(sign_in(client, make_user(union=tree.a1))["access_token"])
    for method, path in (("PUT", f"/api/v1/drill-banks/{2**31}/favourites/1"),
                         ("DELETE", f"/api/v1/drill-banks/{2**31}/favourites/1"),
                         ("DELETE", f"/api/v1/drill-banks/{HUGE}/favourites/{HUGE}"),
                         ("POST", f"/api/v1/drill-banks/{2**31}/daily"),
                         ("DELETE", f"/api/v1/drill-banks/{2**31}/daily/plan")):
        problem(client.open(path, method=method, headers=auth), 404, "not-found")
    problem(client.patch("/api/v1/drill-banks/1/daily/plan", headers=auth), 405, "method-not-allowed")

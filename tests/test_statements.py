"""SQL statements per request (issue 20): every page of the browser journeys, visited with the test
client as each role on the demo city (``seed-demo``), issues at most ``LIMIT`` statements; the admin
lists page by keyset (no OFFSET) and count no subtree of memberships, enrollments or entries in full."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from classroom.accounts.models import User
from classroom.database import statement_engines
from classroom.extensions import db
from classroom.seed import DEMO_PASSWORD, seed_demo
from classroom.unions.models import Membership, MembershipStatus
from courses.catalog.models import ClassSession, Course, CourseInstructor
from courses.competitions.models import Competition
from courses.enrollment.models import Enrollment

LIMIT = 10
MOBILES = {"worker": "13800000006", "instructor": "13800000005", "grassroots admin": "13800000004",
           "district admin": "13800000003", "city admin": "13800000002"}
# Tables that grow with the city: a list over them pages by keyset and counts from maintained counters.
BIG = ("membership", "enrollment", "competition_entry", "hours_entry", "certificate", "audit_event",
       "external_skill_certificate")


@contextmanager
def recording(with_parameters: bool = False) -> Iterator[list]:
    """The SQL statements executed meanwhile (the cursor's, so each round trip once); with their
    parameters, (statement, parameters) pairs."""
    executed: list = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001, PLR0913
        executed.append((statement, parameters) if with_parameters else statement)

    engines = statement_engines(db.engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def city(app):
    seed_demo(workers=30)
    db.session.commit()


def _pages(role: str) -> list[str]:
    """The pages of the browser journeys this role sees (tests/browser/test_*_journey.py)."""
    course = db.session.scalar(select(Course.id).where(Course.status == "published").order_by(Course.id))
    competition = db.session.scalar(select(Competition.id).order_by(Competition.id))
    pages = ["/", "/courses/", f"/courses/{course}", "/competitions/", f"/competitions/{competition}", "/verify"]
    if role == "anonymous":
        return [*pages, "/auth/login", "/auth/register"]
    user = db.session.scalar(select(User).where(User.mobile == MOBILES[role]))
    pages += ["/me", "/me/hours", "/me/certificates", "/me/notifications", "/courses/mine", "/competitions/mine",
              "/checkin"]
    enrolled = db.session.scalar(select(Enrollment.course_id).where(Enrollment.user_id == user.id,
                                                                    Enrollment.status == "enrolled"))
    if enrolled:
        pages.append(f"/courses/{enrolled}/lessons/1")
    if role == "instructor":
        taught = db.session.scalar(select(CourseInstructor.course_id).where(CourseInstructor.user_id == user.id)
                                   .order_by(CourseInstructor.course_id))
        session = db.session.scalar(select(ClassSession.id).join(CourseInstructor, CourseInstructor.course_id
                                                                  == ClassSession.course_id)
                                    .where(CourseInstructor.user_id == user.id).order_by(ClassSession.id))
        pages += ["/teach/", "/teach/courses/new", f"/teach/courses/{taught}", f"/teach/courses/{taught}/roster"]
        if session:
            pages.append(f"/teach/sessions/{session}/roster")
    if role.endswith("admin"):
        union = db.session.scalar(select(Membership.union_id).where(Membership.user_id == user.id)) \
            if role == "grassroots admin" else user.grants[0].union_id
        member = db.session.scalar(select(Membership.user_id).where(
            Membership.union_id == union, Membership.status == MembershipStatus.ACTIVE).order_by(Membership.id))
        pages += [f"/unions/{union}", f"/unions/{union}/members", f"/unions/{union}/applications",
                  "/review/", "/reports/hours", "/certificates/", "/certificates/skills", "/competitions/approvals",
                  "/competitions/manage", f"/competitions/{competition}/entries"]
        if member:
            pages += [f"/unions/{union}/members/{member}", f"/hours/members/{member}"]
    return pages


def _visit(app, role: str) -> dict[str, list[str]]:
    client = app.test_client()
    if role != "anonymous":
        answer = client.post("/auth/login", data={"identifier": MOBILES[role], "password": DEMO_PASSWORD})
        assert answer.status_code == 302, role
    found = {}
    for path in _pages(role):
        client.get(path)  # the first visit warms per-process caches
        with recording() as executed:
            answer = client.get(path)
        assert answer.status_code == 200, (role, path, answer.status_code)
        found[path] = list(executed)
    return found


ROLES = ["anonymous", "worker", "instructor", "grassroots admin", "district admin", "city admin"]


@pytest.mark.parametrize("role", ROLES)
def test_statements_per_page(app, city, role):
    found = _visit(app, role)
    if os.environ.get("STATEMENTS_REPORT"):
        for path, statements in found.items():
            print(f"STMT {role:17} {len(statements):3} {path}")
            if os.environ.get("STATEMENTS_REPORT") == "2" and len(statements) > LIMIT - 3:
                for statement in statements:
                    print("     ", " ".join(statement.split())[:300])
    over = {path: len(statements) for path, statements in found.items() if len(statements) > LIMIT}
    assert not over, over


# ---- the admin lists: keyset pages, bounded or maintained counts ------------------------------------

OFFSET = re.compile(r"\bOFFSET\b", re.IGNORECASE)
OFFSET_VALUE = re.compile(r"\bOFFSET\s+(?:%\((\w+)\)s|(\?)|(\d+))", re.IGNORECASE)
LIMIT_CLAUSE = re.compile(r"\bLIMIT\b", re.IGNORECASE)
COUNT = re.compile(r"\bcount\(", re.IGNORECASE)
NEXT = re.compile(r"[?&](?:amp;)?after=([A-Za-z0-9_-]+)")


def skips_rows(statement: str, parameters) -> bool:
    """Whether the statement skips rows by OFFSET (SQLite renders every LIMIT as "LIMIT ? OFFSET ?": an
    offset of 0 skips nothing)."""
    for found in OFFSET_VALUE.finditer(statement):
        if found.group(1):  # a named parameter (PostgreSQL)
            value = parameters[found.group(1)]
        elif found.group(2):  # a positional one (SQLite)
            value = parameters[statement[:found.start()].count("?")]
        else:
            value = int(found.group(3))
        if value != 0:
            return True
    return False


def counts_in_full(statement: str) -> bool:
    """A count(...) over a table that grows with the city with no LIMIT bounding it ("10,000+")."""
    lowered = statement.lower()
    return bool(COUNT.search(statement)) and any(f"from {table}" in lowered or f"join {table}" in lowered
                                                 for table in BIG) and not LIMIT_CLAUSE.search(statement)


def _admin_lists() -> list[str]:
    """The city admin's lists (PAGE_SIZE 2 gives them pages beyond the first), and a name search."""
    competition = db.session.scalar(select(Competition.id).order_by(Competition.id))
    course = db.session.scalar(select(Course.id).where(Course.status == "published").order_by(Course.id))
    grassroots = db.session.scalar(select(Membership.union_id).join(User, User.id == Membership.user_id)
                                   .where(User.mobile == MOBILES["grassroots admin"]))
    return ["/unions/1/members", "/unions/1/members?status=active", "/unions/1/members?q=%E5%BC%A0",
            "/unions/1/members?q=138", "/unions/1/applications", "/review/", "/certificates/",
            "/certificates/skills", "/competitions/approvals", f"/competitions/{competition}/entries",
            f"/reports/hours?union={grassroots}&by=union", f"/teach/courses/{course}/roster"]


@pytest.mark.parametrize("app_config", [{"PAGE_SIZE": 2}])
def test_admin_lists_page_by_keyset_and_count_no_subtree(app, city):
    client = app.test_client()
    assert client.post("/auth/login", data={"identifier": MOBILES["city admin"], "password": DEMO_PASSWORD}) \
        .status_code == 302
    deep = 0
    for path in _admin_lists():
        pages, seen = [path], set()
        while pages:  # page 1, then each next page the list links to (up to five)
            page = pages.pop()
            with recording(with_parameters=True) as executed:
                answer = client.get(page)
            assert answer.status_code == 200, (page, answer.status_code)
            assert not [s for s, p in executed if skips_rows(s, p)], page
            if not page.startswith("/reports/hours"):  # the hours report's figures: issue 20 item 4
                assert not [s for s, _p in executed if counts_in_full(s)], page
            cursors = [c for c in NEXT.findall(answer.get_data(as_text=True)) if c not in seen]  # (the language
            if cursors and len(seen) < 5:  # switch repeats this page's own cursor)
                seen.add(cursors[0])
                deep += 1
                pages.append(f"{path}{'&' if '?' in path else '?'}after={cursors[0]}")
    assert deep >= 12  # the lists did page beyond their first page


def test_the_checks_catch_offset_and_full_counts():
    assert skips_rows("SELECT a FROM membership LIMIT ? OFFSET ?", (20, 40))
    assert not skips_rows("SELECT a FROM membership LIMIT ? OFFSET ?", (20, 0))
    assert skips_rows("SELECT a FROM membership LIMIT %(l)s OFFSET %(o)s", {"l": 20, "o": 40})
    assert skips_rows("SELECT (SELECT count(*) FROM (SELECT 1 LIMIT ? OFFSET ?)) AS n FROM x WHERE y = ?", (9, 3, 1))
    assert not skips_rows("SELECT (SELECT count(*) FROM (SELECT 1 LIMIT ? OFFSET ?)) AS n FROM x WHERE y = ?",
                          (9, 0, 1))
    assert counts_in_full("SELECT count(*) FROM (SELECT 1 FROM membership JOIN trade_union ON x) AS s")
    assert not counts_in_full("SELECT count(*) FROM (SELECT 1 FROM membership LIMIT ?) AS s")
    assert not counts_in_full("SELECT sum(members) FROM union_member_count")

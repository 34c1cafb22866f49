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
BIG = ("membership", "enrollment", "competition_entry", "hours_entry", "certificate", "audit_event", '"user"', "user ")


@contextmanager
def recording() -> Iterator[list[str]]:
    """The SQL statements executed meanwhile (the cursor's, so each round trip once)."""
    executed: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001, PLR0913
        executed.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


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


OFFSET = re.compile(r"\bOFFSET\b", re.IGNORECASE)

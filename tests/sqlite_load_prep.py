"""Prepares a `make run` database (seed-demo already loaded) for the SQLite load test: a class in
progress with check-in open and demo workers signed up for it, and the courses open for sign-up.
Prints what the test needs as JSON. Run as `python -m tests.sqlite_load_prep` with the test's env."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from sqlalchemy import select

from classroom import create_app
from classroom.accounts.models import User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.unions.models import TradeUnion, UnionKind
from courses.attendance.models import SessionCheckin
from courses.catalog.models import ClassSession, Course, CourseStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus

WORKERS = 120


def prepare() -> dict:
    now = utcnow()
    courses = db.session.scalars(select(Course).where(Course.status == CourseStatus.PUBLISHED)
                                 .order_by(Course.id)).all()
    for course in courses:  # open for everyone, no approval, no cap: every sign-up is acknowledged
        course.enroll_opens_at, course.enroll_closes_at = None, None
        course.capacity, course.requires_approval = None, False
    host = courses[0]
    session = ClassSession(course_id=host.id, title="并发测试班次", starts_at=now - timedelta(minutes=5),
                           ends_at=now + timedelta(hours=3), venue_name="市工人文化宫", credit_minutes=90)
    db.session.add(session)
    db.session.flush()
    checkin = SessionCheckin(session_id=session.id, secret=secrets.token_hex(20), opened_at=now,
                             opened_by_id=host.created_by_id)
    db.session.add(checkin)
    workers = db.session.scalars(select(User).where(~User.mobile.like("1380000000%")).order_by(User.id).limit(WORKERS)).all()
    enrolled = {row for row in db.session.scalars(select(Enrollment.user_id).where(Enrollment.course_id == host.id))}
    for worker in workers:
        if worker.id not in enrolled:
            db.session.add(Enrollment(user_id=worker.id, course_id=host.id, status=EnrollmentStatus.ENROLLED,
                                      requested_at=now, enrolled_at=now))
    db.session.commit()
    union = db.session.scalar(select(TradeUnion).where(TradeUnion.kind == UnionKind.GRASSROOTS).order_by(TradeUnion.id))
    return {"session_id": session.id, "union_id": union.id, "secret": checkin.secret, "course_ids": [course.id for course in courses],
            "workers": [{"id": worker.id, "mobile": worker.mobile} for worker in workers]}


if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        print(json.dumps(prepare()))

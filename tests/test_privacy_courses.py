"""Personal-data rights across the learning records: the download holds them, closing the
account leaves the person's name and mobile nowhere while hours and certificates stay valid."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import CalendarFeed, OutboundMessage
from classroom.notifications.services import notify
from courses.attendance.services import record
from courses.catalog.models import ClassSession, CourseFollow
from courses.certificates import services as certificates
from courses.certificates.models import Certificate
from courses.enrollment.services import enroll
from courses.hours.models import HoursEntry
from courses.hours.services import add_adjustment
from courses.study.services import evaluate_completion
from tests.factories import PASSWORD, login_client
from tests.test_privacy import everything_in_the_database

NAME, MOBILE, EMAIL = "司马光明", "13612345678", "sima@example.cn"


def test_closing_keeps_hours_and_certificates_without_the_person(app, tree, make_course, make_user, make_admin,
                                                                 instructor):
    person = make_user(NAME, union=tree.a1, mobile=MOBILE, email=EMAIL)
    course = make_course(lessons=0, min_lesson_share=0)
    session = ClassSession(course_id=course.id, starts_at=utcnow() - timedelta(hours=3),
                           ends_at=utcnow() - timedelta(hours=1), venue_name="职工服务站", credit_minutes=90)
    db.session.add(session)
    db.session.add(CourseFollow(user_id=person.id, course_id=course.id))
    db.session.commit()
    enrollment = enroll(person, course, now=utcnow())
    db.session.commit()
    record(session, person.id, "present", method="roster", actor=instructor, now=utcnow())
    evaluate_completion(enrollment, now=utcnow())
    admin = make_admin(tree.a1)
    add_adjustment(person, minutes=30, reason=f"{NAME}补录", actor=admin, now=utcnow())
    notify(person, "course.announcement", "privacy:1", f"{NAME} 你好")
    db.session.add(CalendarFeed(user_id=person.id))
    db.session.commit()
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == person.id))
    assert certificate is not None and db.session.scalar(select(func.count()).select_from(OutboundMessage))
    union_minutes = db.session.scalar(select(func.sum(HoursEntry.minutes)).where(HoursEntry.union_id == tree.a1.id))

    client = login_client(app, person)
    download = json.loads(client.get("/me/privacy/export").data)
    assert download["enrollments"][0]["course"] == course.title
    assert {entry["minutes"] for entry in download["training_hours"]} == {90, 30}
    assert download["certificates"]["issued"][0]["serial"] == certificate.serial
    assert download["attendance"][0]["status"] == "present"
    assert client.post("/me/privacy/close", data={"password": PASSWORD, "understood": "y"}).status_code == 302

    db.session.expire_all()
    dump = everything_in_the_database()
    for secret in (NAME, MOBILE, EMAIL):
        assert secret not in dump, secret
    assert db.session.scalar(select(func.sum(HoursEntry.minutes)).where(HoursEntry.union_id == tree.a1.id)) \
        == union_minutes
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.status == "valid" and certificates.signature_holds(certificate)
    assert app.test_client().get(f"/verify?serial={certificate.serial}").status_code == 200
    for model in (OutboundMessage, CalendarFeed, CourseFollow):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == person.id)) == 0

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
from courses.certificates import verification as certificates
from courses.certificates.models import Certificate
from courses.competitions.models import Competition, CompetitionEvent, Entry, EntryMember
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
    notify(person, "course.announcement", "privacy:1", f"{NAME} 你好", now=utcnow())
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


def test_the_download_names_a_persons_part_in_each_competition_entry(app, tree, make_user):
    captain, member = make_user("赵队长", union=tree.a1), make_user("钱队员", union=tree.a1)
    now = utcnow()
    competition = Competition(title="全市职工技能大赛", year=now.year, level="city", organizer_union_id=tree.city.id,
                              signup_opens_at=now - timedelta(days=1), signup_closes_at=now + timedelta(days=9),
                              status="published", published_at=now)
    db.session.add(competition)
    db.session.flush()
    event = CompetitionEvent(competition_id=competition.id, trade="电工", name="电工（团体赛）", is_team=True)
    db.session.add(event)
    db.session.flush()
    entry = Entry(event_id=event.id, competition_id=competition.id, applicant_id=captain.id, team_name="电力一队",
                  nominating_union_id=tree.a1.id, status="submitted")
    db.session.add(entry)
    db.session.flush()
    db.session.add_all([EntryMember(entry_id=entry.id, event_id=event.id, user_id=captain.id, is_captain=True,
                                    status="accepted", is_active=True),
                        EntryMember(entry_id=entry.id, event_id=event.id, user_id=member.id, status="invited")])
    db.session.commit()

    for person, role, status in ((captain, "captain", "accepted"), (member, "member", "invited")):
        download = json.loads(login_client(app, person).get("/me/privacy/export").data)
        assert [(row["entry_id"], row["role"], row["member_status"]) for row in download["competition_entries"]] \
            == [(entry.id, role, status)]

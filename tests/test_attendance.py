"""Attendance: rosters, self check-in codes, badges, paper rosters, and the credits they make."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.timefmt import local_date
from courses.attendance import checkin as checkins
from courses.attendance.models import Attendance, SessionCheckin
from courses.attendance.services import record
from courses.catalog.models import ClassSession
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from courses.hours.models import HoursEntry, HoursMonth, HoursYear
from tests.concurrency import run_at_once
from tests.factories import login_client
from tests.helpers import FORMULA_STARTS, assert_inert_cell, data_texts, formula_payloads, transfer
from tests.xlsx_raw import assert_xlsx_inert


@pytest.fixture
def course_with_session(tree, make_course):
    """A course of one 90-minute class session starting in 10 minutes (check-in is open)."""
    course = make_course(lessons=0, sessions=0, min_lesson_share=0, min_attendance_share=100)
    now = utcnow()
    session = ClassSession(course_id=course.id, starts_at=now + timedelta(minutes=10),
                           ends_at=now + timedelta(minutes=100), venue_name="东城区职工服务站", credit_minutes=90)
    db.session.add(session)
    db.session.commit()
    return course, session


@pytest.fixture
def enrolled(tree, make_user, course_with_session):
    course, _session = course_with_session

    def make(name="学员", union=None):
        person = make_user(name, union=union or tree.a1)
        enroll(person, course, now=utcnow())
        db.session.commit()
        return person

    return make


def credited(user) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(HoursEntry.minutes), 0))
                             .where(HoursEntry.user_id == user.id))


def entries(user) -> list[int]:
    return db.session.scalars(select(HoursEntry.minutes).where(HoursEntry.user_id == user.id)
                              .order_by(HoursEntry.id)).all()


def test_mark_all_present_credits_once(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    people = [enrolled(f"学员{i}") for i in range(3)]
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/sessions/{session.id}/roster", data={"all_present": "1"})
    teacher.post(f"/teach/sessions/{session.id}/roster", data={"all_present": "1"})  # the same marks again
    assert [credited(person) for person in people] == [90, 90, 90]
    assert [entries(person) for person in people] == [[90]] * 3
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 3


def test_present_to_absent_reverses_and_back_credits_again(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    person = enrolled()
    teacher = login_client(app, instructor)
    for status in ("present", "absent", "late", "excused", "present"):
        teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": status})
    assert entries(person) == [90, -90, 90, -90, 90] and credited(person) == 90
    changes = db.session.scalars(select(AuditEvent.data).where(AuditEvent.action == "attendance.set")).all()
    assert [(change["old"], change["new"]) for change in changes] == [
        (None, "present"), ("present", "absent"), ("absent", "late"), ("late", "excused"), ("excused", "present")]


def test_a_reversal_after_a_transfer_undoes_the_credit_where_it_was_made(app, runner, tree, course_with_session,
                                                                        enrolled, instructor, make_admin):
    _course, session = course_with_session
    person = enrolled(union=tree.a1)
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "present"})
    transfer(person, tree.b1, approver=make_admin(tree.b1))  # moves from district A to district B
    teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "absent"})
    by_union = db.session.execute(select(HoursEntry.minutes, HoursEntry.union_id).order_by(HoursEntry.id)).all()
    assert by_union == [(90, tree.a1.id), (-90, tree.a1.id)]  # undone under the union it was credited to
    year = session.starts_at.year
    assert dict(db.session.execute(select(HoursYear.union_id, HoursYear.minutes)).all()) == {tree.a1.id: 0}
    assert db.session.scalar(select(func.sum(HoursMonth.minutes)).where(HoursMonth.union_id == tree.b1.id)) is None
    city = login_client(app, make_admin(tree.city, "市管理员"))
    for union in (tree.city, tree.district_a, tree.district_b, tree.a1, tree.b1):
        page = city.get(f"/reports/hours?union={union.id}&period=year&year={year}").get_data(as_text=True)
        assert 'data-total-minutes="0"' in page, union.name
    mine = login_client(app, person).get(f"/me/hours?year={year}").get_data(as_text=True)
    assert 'data-minutes="0"' in mine and "Reversed: the attendance was changed" in mine
    check = runner.invoke(args=["hours", "check"])
    assert check.exit_code == 0, check.output
    teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "present"})
    assert db.session.execute(select(HoursEntry.minutes, HoursEntry.union_id).order_by(HoursEntry.id.desc())
                              ).first() == (90, tree.b1.id)  # a new credit counts where the person is now
    page = city.get(f"/reports/hours?union={tree.district_b.id}&period=year&year={year}").get_data(as_text=True)
    assert 'data-total-minutes="90"' in page


def propose_minutes(session, minutes: int, instructor):
    """The instructor proposes new credited minutes for a session of a published course: a revision."""
    from courses.catalog.sessions import update_session

    fields = {name: getattr(session, name) for name in ("title", "starts_at", "ends_at", "venue_name", "venue_address")}
    return update_session(session, {**fields, "credit_minutes": minutes}, actor=instructor, now=utcnow())


def test_approved_schedule_changes_follow_into_the_ledger(app, runner, tree, course_with_session, enrolled,
                                                          instructor, make_admin):
    from courses.catalog.review import decide_revision
    from courses.catalog.sessions import delete_session

    _course, session = course_with_session
    came, stayed_away = enrolled("甲"), enrolled("乙")
    record(session, came.id, "present", method="roster", actor=instructor, now=utcnow())
    record(session, stayed_away.id, "absent", method="roster", actor=instructor, now=utcnow())
    db.session.commit()
    assert (credited(came), credited(stayed_away)) == (90, 0)
    admin = make_admin(tree.city)
    revision = propose_minutes(session, 120, instructor)
    db.session.commit()
    assert credited(came) == 90  # nothing moves while the change waits for review
    decide_revision(revision, True, actor=admin, now=utcnow())
    db.session.commit()
    assert (credited(came), credited(stayed_away)) == (120, 0)
    revision = delete_session(db.session.get(ClassSession, session.id), actor=instructor, now=utcnow())
    db.session.commit()
    decide_revision(revision, True, actor=admin, now=utcnow())
    db.session.commit()
    assert (credited(came), credited(stayed_away)) == (0, 0)
    assert entries(came) == [90, 30, -120]
    assert runner.invoke(args=["hours", "check"]).exit_code == 0
    page = login_client(app, came).get("/me/hours").get_data(as_text=True)
    assert "Reversed: the class session was removed from the course" in page


def test_fewer_minutes_after_a_transfer_are_taken_back_where_they_were_credited(app, tree, course_with_session,
                                                                                enrolled, instructor, make_admin):
    from courses.catalog.review import decide_revision

    _course, session = course_with_session
    person = enrolled(union=tree.a1)
    record(session, person.id, "present", method="roster", actor=instructor, now=utcnow())
    db.session.commit()
    transfer(person, tree.b1, approver=make_admin(tree.b1))
    revision = propose_minutes(session, 30, instructor)
    db.session.commit()
    decide_revision(revision, True, actor=make_admin(tree.city), now=utcnow())
    db.session.commit()
    rows = db.session.execute(select(HoursEntry.minutes, HoursEntry.union_id).order_by(HoursEntry.id)).all()
    assert rows == [(90, tree.a1.id), (-60, tree.a1.id)]  # the old union keeps 30, the new one is untouched


def test_checkin_plus_roster_mark_credits_once(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    person = enrolled()
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/sessions/{session.id}/checkin")
    checkin = db.session.get(SessionCheckin, session.id)
    worker = login_client(app, person)
    response = worker.post("/checkin", data={"code": checkins.code_at(checkin, utcnow())})
    assert response.status_code == 302
    teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "present"})
    assert entries(person) == [90]
    assert db.session.scalar(select(Attendance.method)) == "checkin"


def test_codes_current_and_previous_accepted_older_refused(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    now = utcnow()
    checkin = checkins.open_checkin(session, actor=instructor, now=now)
    db.session.commit()
    assert checkins.code_matches(checkin, checkins.code_at(checkin, now), now)
    assert checkins.code_matches(checkin, checkins.code_at(checkin, now - timedelta(seconds=30)), now)
    two_ago = checkins.code_at(checkin, now - timedelta(seconds=60))
    if two_ago not in (checkins.code_at(checkin, now), checkins.code_at(checkin, now - timedelta(seconds=30))):
        assert not checkins.code_matches(checkin, two_ago, now)
    person = enrolled()
    with pytest.raises(Invalid, match="not right or has expired"):
        checkins.check_in(person, "000000" if two_ago != "000000" else "111111", now=now)
    with pytest.raises(Conflict, match="No class of yours is open"):
        checkins.check_in(person, checkins.code_at(checkin, session.ends_at + timedelta(minutes=1)),
                          now=session.ends_at + timedelta(minutes=1))
    with pytest.raises(Conflict, match="No class of yours is open"):
        early = session.starts_at - timedelta(minutes=31)
        checkins.check_in(person, checkins.code_at(checkin, early), now=early)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_late_after_the_grace_period(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    checkin = checkins.open_checkin(session, actor=instructor, now=utcnow())
    on_time, late = enrolled("准时"), enrolled("迟到")
    checkins.check_in(on_time, checkins.code_at(checkin, session.starts_at), now=session.starts_at)
    later = session.starts_at + timedelta(minutes=11)
    checkins.check_in(late, checkins.code_at(checkin, later), now=later)
    db.session.commit()
    statuses = dict(db.session.execute(select(Attendance.user_id, Attendance.status)).all())
    assert statuses == {on_time.id: "present", late.id: "late"}
    assert credited(late) == 90  # late still attended


def test_only_enrolled_workers_check_in(app, tree, course_with_session, make_user, instructor):
    _course, session = course_with_session
    checkin = checkins.open_checkin(session, actor=instructor, now=utcnow())
    db.session.commit()
    stranger = login_client(app, make_user("旁听", union=tree.a1))
    page = stranger.post("/checkin", data={"code": checkins.code_at(checkin, utcnow())}).get_data(as_text=True)
    assert "No class of yours is open" in page
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_code_attempts_are_rate_limited_per_user(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    checkins.open_checkin(session, actor=instructor, now=utcnow())
    db.session.commit()
    worker = login_client(app, enrolled())
    statuses = [worker.post("/checkin", data={"code": "12345"}).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_ten_concurrent_checkins_make_one_row_and_one_credit(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    checkin = checkins.open_checkin(session, actor=instructor, now=utcnow())
    db.session.commit()
    person = enrolled()
    clients = [login_client(app, person) for _ in range(10)]
    code = checkins.code_at(checkin, utcnow())
    results = run_at_once(10, lambda i: clients[i].post("/checkin", data={"code": code}))
    assert all(getattr(result, "status_code", None) in (200, 302) for result in results), results
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1
    assert entries(person) == [90]


def test_roster_edit_window(app, tree, course_with_session, enrolled, instructor, make_admin):
    course, session = course_with_session
    person = enrolled()
    session.starts_at -= timedelta(days=10)
    session.ends_at -= timedelta(days=10)
    db.session.commit()
    teacher = login_client(app, instructor)
    page = teacher.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "present"},
                        follow_redirects=True).get_data(as_text=True)
    assert "can no longer be changed" in page and credited(person) == 0
    admin = login_client(app, make_admin(tree.city))
    admin.post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "present"})
    assert credited(person) == 90
    assert db.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "attendance.set")) != instructor.id


def test_attendance_completes_the_course(app, course_with_session, enrolled, instructor):
    course, session = course_with_session
    person = enrolled()
    login_client(app, instructor).post(f"/teach/sessions/{session.id}/roster", data={f"status-{person.id}": "late"})
    assert db.session.scalar(select(Enrollment.status).where(Enrollment.user_id == person.id)) == "completed"


def test_badges(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    person = enrolled()
    now = utcnow()
    today = local_date(now)  # the badge's day is the worker's (Asia/Shanghai), not UTC's
    assert checkins.read_badge(checkins.badge_text(person.id, today), now) == person.id
    with pytest.raises(Invalid, match="expired"):
        checkins.read_badge(checkins.badge_text(person.id, today - timedelta(days=2)), now)
    with pytest.raises(Invalid, match="not a worker badge"):
        checkins.read_badge("hello", now)
    forged = checkins.badge_text(person.id, today)[:-1] + "A"
    with pytest.raises(Invalid):
        checkins.read_badge(forged if forged != checkins.badge_text(person.id, today) else forged + "B", now)
    with pytest.raises(Invalid, match="not a worker badge"):
        checkins.read_badge(checkins.badge_code(person.id, today), now)  # the code alone names nobody
    worker = login_client(app, person)
    [shown] = data_texts(worker.get("/me/badge").get_data(as_text=True), "data-badge-code")
    assert shown == checkins.badge_typed(person.id, today)
    assert worker.get("/me/badge.svg").headers["Content-Type"] == "image/svg+xml"
    assert 'href="/me/badge"' in worker.get("/me").get_data(as_text=True)  # reachable from the worker's page
    teacher = login_client(app, instructor)
    typed = " ".join(shown.lower())  # typed by hand: lower case, stray spaces
    response = teacher.post(f"/teach/sessions/{session.id}/roster/badge", data={"badge": typed})
    assert response.status_code == 302
    assert db.session.scalar(select(Attendance.method)) == "badge" and credited(person) == 90
    other = enrolled("乙")
    teacher.post(f"/teach/sessions/{session.id}/roster/badge", data={"badge": checkins.badge_text(other.id, today)})
    assert credited(other) == 90  # the QR code's text, as the camera scanner sends it


def local_time(day, hour: int, minute: int = 0):
    """``day`` at hour:minute on the platform's clock (Asia/Shanghai), as an aware time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo("Asia/Shanghai"))


def test_yesterdays_badge_is_refused_at_noon(app, tree, make_course, make_user, instructor):
    """A badge says "valid on <date>": a photo of yesterday's badge marks nobody present the next day."""
    course = make_course(lessons=0, min_lesson_share=0, min_attendance_share=100)
    noon = local_time(date(2026, 3, 12), 12)
    session = ClassSession(course_id=course.id, starts_at=noon - timedelta(minutes=5),
                           ends_at=noon + timedelta(minutes=85), venue_name="市工人文化宫", credit_minutes=90)
    db.session.add(session)
    person = make_user("张卫东", union=tree.a1)
    enroll(person, course, now=noon - timedelta(days=3))
    db.session.commit()
    yesterday = checkins.badge_text(person.id, date(2026, 3, 11))
    with pytest.raises(Invalid, match="expired"):
        checkins.mark_by_badge(session, yesterday, actor=instructor, now=noon)
    with pytest.raises(Invalid, match="expired"):
        checkins.mark_by_badge(session, yesterday, actor=instructor, now=local_time(date(2026, 3, 12), 0, 16))
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    checkins.mark_by_badge(session, checkins.badge_text(person.id, date(2026, 3, 12)), actor=instructor, now=noon)
    assert db.session.scalar(select(Attendance.status).where(Attendance.user_id == person.id)) == "present"


def test_yesterdays_badge_counts_just_past_midnight_for_a_class_that_crosses_it(app, tree, make_course, make_user,
                                                                                instructor):
    day = date(2026, 3, 12)
    both, only_today = (day, day - timedelta(days=1)), (day,)
    late_class = ClassSession(starts_at=local_time(day - timedelta(days=1), 22), ends_at=local_time(day, 0, 45))
    assert checkins.badge_days(local_time(day, 0, 5), late_class) == both  # the class crossed midnight
    assert checkins.badge_days(local_time(day, 0, 14), late_class) == both
    assert checkins.badge_days(local_time(day, 0, 15), late_class) == only_today  # a few minutes only
    assert checkins.badge_days(local_time(day, 0, 40), late_class) == only_today
    assert checkins.badge_days(local_time(day, 0, 5)) == only_today  # no class named: today's alone
    evening = ClassSession(starts_at=local_time(day - timedelta(days=1), 19), ends_at=local_time(day - timedelta(days=1), 21))
    assert checkins.badge_days(local_time(day, 0, 5), evening) == only_today  # ended before midnight
    todays_class = ClassSession(starts_at=local_time(day, 0, 1), ends_at=local_time(day, 2))
    assert checkins.badge_days(local_time(day, 0, 5), todays_class) == only_today
    assert checkins.badge_days(local_time(day, 23, 50), late_class) == only_today
    # end to end: the instructor scans yesterday's badge at 00:05 during a class from 22:00 to 00:45
    course = make_course(lessons=0, min_lesson_share=0, min_attendance_share=100)
    session = ClassSession(course_id=course.id, starts_at=late_class.starts_at, ends_at=late_class.ends_at,
                           venue_name="夜班培训室", credit_minutes=165)
    db.session.add(session)
    person, latecomer = make_user("夜班工人", union=tree.a1), make_user("迟到工人", union=tree.a1)
    for worker in (person, latecomer):
        enroll(worker, course, now=local_time(day - timedelta(days=5), 9))
    db.session.commit()
    yesterday = day - timedelta(days=1)
    assert checkins.mark_by_badge(session, checkins.badge_text(person.id, yesterday), actor=instructor,
                                  now=local_time(day, 0, 5)).id == person.id
    with pytest.raises(Invalid, match="expired"):
        checkins.mark_by_badge(session, checkins.badge_text(latecomer.id, yesterday), actor=instructor,
                               now=local_time(day, 0, 20))
    assert db.session.scalar(select(Attendance.status).where(Attendance.user_id == person.id)) == "present"
    assert db.session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.user_id == latecomer.id)) == 0


def test_paper_roster_is_all_or_nothing(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    first, second = enrolled("甲"), enrolled("乙")
    teacher = login_client(app, instructor)
    bad = f"mobile,status\n{first.mobile},出勤\n13700000000,present\n{second.mobile},飞了\n".encode()
    response = teacher.post(f"/teach/sessions/{session.id}/roster/upload",
                            data={"file": (io.BytesIO(bad), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Row 2" in body and "Row 3" in body and "137****0000" in body  # an instructor reads numbers masked
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    good = f"{first.mobile},出勤\n{second.mobile},请假\n".encode("gb18030")
    teacher.post(f"/teach/sessions/{session.id}/roster/upload", data={"file": (io.BytesIO(good), "roster.csv")},
                 content_type="multipart/form-data")
    assert dict(db.session.execute(select(Attendance.user_id, Attendance.status)).all()) == {
        first.id: "present", second.id: "excused"}


def test_rosters_show_instructors_masked_mobiles(app, tree, course_with_session, instructor, make_user, make_admin):
    """Mobiles are the person's and their union admins': an instructor's rosters (pages, print,
    export) show them masked, and a paper roster may name people by the masked number when it
    fits one person on the roster."""
    course, session = course_with_session
    course.scope_union_id = tree.city.id
    people = [make_user("甲", union=tree.a1, mobile="13812341234"), make_user("乙", union=tree.b1, mobile="13899991234"),
              make_user("丙", union=tree.b1, mobile="13955556666")]
    for person in people:
        enroll(person, course, now=utcnow())
    db.session.commit()
    teacher = login_client(app, instructor)
    pages = [teacher.get(url).get_data(as_text=True) for url in (
        f"/teach/sessions/{session.id}/roster", f"/teach/sessions/{session.id}/roster/print",
        f"/teach/sessions/{session.id}/roster.csv", f"/teach/courses/{course.id}/roster")]
    for page in pages:
        assert "138****1234" in page and "139****6666" in page
        assert not any(person.mobile in page for person in people)
    city_page = login_client(app, make_admin(tree.city, "市管理员")).get(f"/teach/sessions/{session.id}/roster")
    assert all(person.mobile in city_page.get_data(as_text=True) for person in people)

    def upload(text: str):
        return teacher.post(f"/teach/sessions/{session.id}/roster/upload", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(text.encode()), "roster.csv")})

    refused = upload("138****1234,出勤\n139****6666,出勤\n")
    assert refused.status_code == 400 and "fits more than one person" in refused.get_data(as_text=True)
    # The errors never give back a number the instructor sees masked, nor do they become a way to
    # try out numbers: a file longer than the roster (plus a little slack) is refused as a whole.
    twice = upload("13812341234,出勤\n13812341234,出勤\n13955556666,出勤\n").get_data(as_text=True)
    assert "appears twice" in twice and "138****1234" in twice and "13812341234" not in twice
    guesses = "".join(f"1395555{n:04d},出勤\n" for n in range(40)).encode()
    too_long = teacher.post(f"/teach/sessions/{session.id}/roster/upload", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(guesses), "roster.csv")}).get_data(as_text=True)
    assert "more than the 3 people on the roster" in too_long and "Row" not in too_long
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    upload("13812341234,出勤\n139****6666,请假\n")
    assert dict(db.session.execute(select(Attendance.user_id, Attendance.status)).all()) == {
        people[0].id: "present", people[2].id: "excused"}


def test_paper_roster_as_xlsx(app, course_with_session, enrolled, instructor):
    from openpyxl import Workbook

    _course, session = course_with_session
    first, second = enrolled("甲"), enrolled("乙")
    teacher = login_client(app, instructor)

    def upload(rows):
        book = Workbook()
        for row in rows:
            book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return teacher.post(f"/teach/sessions/{session.id}/roster/upload",
                            data={"file": (io.BytesIO(buffer.getvalue()), "签到表.xlsx")},
                            content_type="multipart/form-data")

    response = upload([["手机号", "状态"], [first.mobile, "出勤"], [second.mobile, "飞了"], ["12345", "present"]])
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Row 2" in body and "Row 3" in body and "Row 1:" not in body  # data rows, the header not counted
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0  # all or nothing
    response = upload([["mobile", "status"], [int(first.mobile), "迟到"], [second.mobile, "absent"]])
    assert response.status_code == 302
    assert dict(db.session.execute(select(Attendance.user_id, Attendance.status)).all()) == {
        first.id: "late", second.id: "absent"}
    assert credited(first) == 90 and credited(second) == 0


@pytest.mark.parametrize("app_config", [{"UPLOAD_MAX_ROWS": 10, "UPLOAD_MAX_COLUMNS": 5, "UPLOAD_MAX_CELL_CHARS": 40}])
def test_paper_roster_past_the_upload_limits_is_refused_naming_the_limit(app, course_with_session, enrolled,
                                                                         instructor):
    from openpyxl import Workbook

    _course, session = course_with_session
    person = enrolled("甲")
    teacher = login_client(app, instructor)
    cases = [([[person.mobile, "出勤"]] * 11, "The file has more than 10 rows"),
             ([[person.mobile, "出勤", "", "", "", "x"]], "Row 1 has more than 5 columns"),
             ([[person.mobile, "出" * 41]], "Row 1 has a cell longer than 40 characters")]
    for rows, words in cases:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        xlsx = io.BytesIO()
        book.save(xlsx)
        text = "".join(",".join(row) + "\n" for row in rows).encode()
        for data, name in ((text, "roster.csv"), (xlsx.getvalue(), "roster.xlsx")):
            response = teacher.post(f"/teach/sessions/{session.id}/roster/upload",
                                    data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
            assert response.status_code == 400 and words in response.get_data(as_text=True), (name, words)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_scanning_the_check_in_qr_code_checks_in(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    person = enrolled()
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/sessions/{session.id}/checkin")
    shown = teacher.get(f"/teach/sessions/{session.id}/checkin/code.json").get_json()
    assert re.fullmatch(r"\d{6}", shown["code"]) and shown["open"] is True
    svg = teacher.get(f"/teach/sessions/{session.id}/checkin/qr.svg")
    assert svg.headers["Content-Type"] == "image/svg+xml" and svg.headers["Cache-Control"] == "no-store"
    path = shown["url"].split("://", 1)[1].split("/", 1)[1]
    assert path == f"checkin?session={session.id}&code={shown['code']}"
    worker = login_client(app, person)
    form = worker.get("/" + path).get_data(as_text=True)
    assert f'value="{shown["code"]}"' in form  # the scanned link fills the form: one tap to check in
    response = worker.post("/checkin", data={"code": shown["code"], "session": str(session.id)})
    assert response.status_code == 302
    assert db.session.scalar(select(Attendance.status).where(Attendance.user_id == person.id)) == "present"
    stranger = login_client(app, enrolled("乙"))
    assert stranger.get(f"/teach/sessions/{session.id}/checkin/code.json").status_code in (403, 404)


def test_check_in_opens_only_from_30_minutes_before_until_the_end(app, course_with_session, instructor):
    _course, session = course_with_session
    for moment in (session.starts_at - timedelta(minutes=31), session.ends_at, session.ends_at + timedelta(hours=1)):
        with pytest.raises(Conflict, match="minutes before the class"):
            checkins.open_checkin(session, actor=instructor, now=moment)
    assert checkins.open_checkin(session, actor=instructor, now=session.starts_at - timedelta(minutes=30))
    db.session.rollback()


def test_roster_export_carries_the_session_and_neutralizes_formulas(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    payloads = formula_payloads()
    for index, payload in enumerate(payloads):
        enrolled(payload[:50] or f"x{index}")
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/sessions/{session.id}/roster", data={"all_present": "1"})
    xlsx = teacher.get(f"/teach/sessions/{session.id}/roster.xlsx").data
    book = load_workbook(io.BytesIO(xlsx))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:7] == ("Course", "Session", "Date", "Starts", "Ends", "Venue", "Instructor")
    assert all(row[5] == "东城区职工服务站" and row[6] == instructor.real_name for row in rows[1:])
    names = {payload[:50] for payload in payloads}
    in_book = {cells[7].value: cells[7] for cells in book.active.iter_rows(min_row=2)}
    for name in names:
        assert_inert_cell(in_book[name.replace("\r", "\n")], name)  # XML reads a raw CR back as LF
    assert assert_xlsx_inert(xlsx) == sum(name.startswith(FORMULA_STARTS) for name in names)
    csv_rows = list(csv.reader(io.StringIO(teacher.get(f"/teach/sessions/{session.id}/roster.csv").data.decode(
        "utf-8-sig"))))
    written = {row[7].removeprefix("'"): row[7] for row in csv_rows[1:]}
    for name in names:
        assert_inert_cell(written[name], name)
    assert {row[9] for row in csv_rows[1:]} == {"Present"}
    printable = teacher.get(f"/teach/sessions/{session.id}/roster/print").get_data(as_text=True)
    assert "东城区职工服务站" in printable


def test_workers_cannot_see_rosters(app, course_with_session, enrolled):
    _course, session = course_with_session
    worker = login_client(app, enrolled())
    for url in (f"/teach/sessions/{session.id}/roster", f"/teach/sessions/{session.id}/roster.csv",
                f"/teach/sessions/{session.id}/checkin"):
        assert worker.get(url).status_code == 404


def test_record_refuses_people_not_on_the_roster(course_with_session, tree, make_user, instructor):
    _course, session = course_with_session
    from classroom.domain import NotAllowed

    with pytest.raises(NotAllowed):
        record(session, make_user(union=tree.a1).id, "present", method="roster", actor=instructor, now=utcnow())

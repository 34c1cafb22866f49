"""Enrollment: seats race-free, the FIFO waitlist, promotion, approval, windows, announcements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from courses.catalog.models import Course
from courses.enrollment.models import Enrollment
from courses.enrollment.services import decide, drop, enroll, remove, waitlist_position
from tests.concurrency import run_at_once
from tests.factories import login_client
from tests.helpers import data_texts


def status_of(user, course):
    return db.session.scalar(select(Enrollment.status).filter_by(user_id=user.id, course_id=course.id))


def workers(make_user, union, count, prefix="工人"):
    return [make_user(f"{prefix}{index}", union=union) for index in range(count)]


def test_enroll_and_the_course_page_shows_it(app, tree, make_course, make_user):
    course = make_course(capacity=2)
    worker = make_user(union=tree.a1)
    client = login_client(app, worker)
    assert client.post(f"/courses/{course.id}/enroll").status_code == 302
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'data-enrollment-status="enrolled"' in page and data_texts(page, "data-seats-left") == ["1"]
    assert db.session.get(Course, course.id).enrolled_count == 1


def test_full_course_waitlists_in_order_and_dropping_promotes_the_first(app, tree, make_course, make_user):
    course = make_course(capacity=2)
    people = workers(make_user, tree.a1, 5)
    for person in people:
        enroll(person, course, now=utcnow())
        db.session.commit()
    assert [status_of(p, course) for p in people] == ["enrolled"] * 2 + ["waitlisted"] * 3
    rows = {row.user_id: row for row in db.session.scalars(select(Enrollment))}
    assert [waitlist_position(rows[p.id]) for p in people[2:]] == [1, 2, 3]
    page = login_client(app, people[3]).get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'data-waitlist-position="2"' in page
    client = login_client(app, people[0])
    client.post(f"/courses/{course.id}/drop")
    assert status_of(people[0], course) == "dropped" and status_of(people[2], course) == "enrolled"
    rows = {row.user_id: row for row in db.session.scalars(select(Enrollment))}
    assert [waitlist_position(rows[p.id]) for p in people[3:]] == [1, 2]
    notice = db.session.scalar(select(Notification).where(Notification.user_id == people[2].id))
    assert notice.kind == "enrollment.promoted" and course.title in notice.title
    db.session.refresh(course)
    assert (course.enrolled_count, course.waitlist_count) == (2, 2)


def test_leaving_the_waitlist_moves_the_others_up(tree, make_course, make_user):
    course = make_course(capacity=1)
    people = workers(make_user, tree.a1, 4)
    for person in people:
        enroll(person, course, now=utcnow())
    db.session.commit()
    second = db.session.scalar(select(Enrollment).filter_by(user_id=people[2].id))
    drop(db.session.scalar(select(Enrollment).filter_by(user_id=people[1].id)), now=utcnow())
    db.session.commit()
    assert waitlist_position(second) == 1
    assert status_of(people[1], course) == "dropped" and status_of(people[0], course) == "enrolled"


def test_double_enroll_is_one_row_and_a_friendly_message(app, tree, make_course, make_user):
    course = make_course()
    client = login_client(app, make_user(union=tree.a1))
    client.post(f"/courses/{course.id}/enroll")
    page = client.post(f"/courses/{course.id}/enroll", follow_redirects=True).get_data(as_text=True)
    assert "already signed up" in page
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_reenroll_after_drop_while_seats_remain(app, tree, make_course, make_user):
    course = make_course(capacity=1)
    worker = make_user(union=tree.a1)
    client = login_client(app, worker)
    client.post(f"/courses/{course.id}/enroll")
    client.post(f"/courses/{course.id}/drop")
    client.post(f"/courses/{course.id}/enroll")
    assert status_of(worker, course) == "enrolled"
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_enrollment_window(app, tree, make_course, make_user):
    now = utcnow()
    early = make_course("未开始", enroll_opens_at=now + timedelta(days=2))
    late = make_course("已截止", enroll_closes_at=now - timedelta(minutes=1))
    client = login_client(app, make_user(union=tree.a1))
    assert "Enrollment opens on" in client.post(f"/courses/{early.id}/enroll", follow_redirects=True).get_data(
        as_text=True)
    assert "Enrollment closed on" in client.post(f"/courses/{late.id}/enroll", follow_redirects=True).get_data(
        as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_drop_is_refused_once_the_course_has_started(app, tree, make_course, make_user):
    course = make_course(starts_on=utcnow().date() - timedelta(days=1))
    worker = make_user(union=tree.a1)
    client = login_client(app, worker)
    client.post(f"/courses/{course.id}/enroll")
    page = client.post(f"/courses/{course.id}/drop", follow_redirects=True).get_data(as_text=True)
    assert "has started" in page and status_of(worker, course) == "enrolled"


def test_approval_required(app, tree, make_course, make_user, instructor):
    course = make_course(capacity=1, requires_approval=True)
    first, second, third = workers(make_user, tree.a1, 3)
    for person in (first, second, third):
        login_client(app, person).post(f"/courses/{course.id}/enroll")
    assert [status_of(p, course) for p in (first, second, third)] == ["pending"] * 3
    teacher = login_client(app, instructor)
    rows = {row.user_id: row.id for row in db.session.scalars(select(Enrollment))}
    teacher.post(f"/teach/courses/{course.id}/enrollments/{rows[first.id]}/approve")
    teacher.post(f"/teach/courses/{course.id}/enrollments/{rows[second.id]}/approve")
    teacher.post(f"/teach/courses/{course.id}/enrollments/{rows[third.id]}/reject", data={"reason": ""})
    assert status_of(third, course) == "pending"  # a rejection needs a reason
    teacher.post(f"/teach/courses/{course.id}/enrollments/{rows[third.id]}/reject", data={"reason": "非本岗位"})
    assert [status_of(p, course) for p in (first, second, third)] == ["enrolled", "waitlisted", "rejected"]
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == third.id)).all()
    assert kinds == ["enrollment.decided"]
    page = login_client(app, third).get(f"/courses/{course.id}").get_data(as_text=True)
    assert "非本岗位" in page


def test_workers_cannot_decide_sign_ups(app, tree, make_course, make_user):
    course = make_course(requires_approval=True)
    worker = make_user(union=tree.a1)
    login_client(app, worker).post(f"/courses/{course.id}/enroll")
    row = db.session.scalar(select(Enrollment))
    other = login_client(app, make_user("旁人", union=tree.a1))
    assert other.post(f"/teach/courses/{course.id}/enrollments/{row.id}/approve").status_code == 404
    assert other.get(f"/teach/courses/{course.id}/roster").status_code == 404
    assert status_of(worker, course) == "pending"


def test_announcements_reach_enrolled_and_optionally_waitlisted(app, tree, make_course, make_user, instructor):
    course = make_course(capacity=1)
    seated, waiting = workers(make_user, tree.a1, 2)
    for person in (seated, waiting):
        enroll(person, course, now=utcnow())
    db.session.commit()
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/courses/{course.id}/announcements", data={"title": "调课通知", "body": "周三改到周四"})
    teacher.post(f"/teach/courses/{course.id}/announcements",
                 data={"title": "新增名额", "body": "候补同学注意", "include_waitlisted": "y"})
    seated_titles = db.session.scalars(select(Notification.title).where(Notification.user_id == seated.id)).all()
    waiting_titles = db.session.scalars(select(Notification.title).where(Notification.user_id == waiting.id)).all()
    assert len(seated_titles) == 2 and len(waiting_titles) == 1 and "新增名额" in waiting_titles[0]
    page = login_client(app, seated).get(f"/courses/{course.id}").get_data(as_text=True)
    assert "调课通知" in page and "周三改到周四" in page


def test_announcements_show_only_to_their_audience_and_the_course_staff(app, tree, make_course, make_user,
                                                                         make_admin, instructor):
    course = make_course("城市公开课", capacity=1)
    seated, waiting, leaving, stranger = workers(make_user, tree.a1, 4)
    for person in (seated, waiting, leaving):
        enroll(person, course, now=utcnow())
        db.session.commit()
    drop(db.session.scalar(select(Enrollment).filter_by(user_id=leaving.id)), now=utcnow())
    db.session.commit()
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/courses/{course.id}/announcements", data={"title": "仅限学员", "body": "带好绝缘手套"})
    teacher.post(f"/teach/courses/{course.id}/announcements",
                 data={"title": "候补也看", "body": "下周加开一班", "include_waitlisted": "y"})

    def seen(client) -> set[str]:
        page = client.get(f"/courses/{course.id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        return {text for text in ("仅限学员", "带好绝缘手套", "候补也看", "下周加开一班") if text in html}

    everything = {"仅限学员", "带好绝缘手套", "候补也看", "下周加开一班"}
    assert seen(app.test_client()) == set()  # a visitor of a city-wide course
    assert seen(login_client(app, stranger)) == set()
    assert seen(login_client(app, leaving)) == set()  # dropped (waitlisted, then left)
    assert seen(login_client(app, waiting)) == {"候补也看", "下周加开一班"}
    assert seen(login_client(app, seated)) == everything
    assert seen(teacher) == everything
    assert seen(login_client(app, make_admin(tree.city))) == everything


def test_the_instructor_takes_a_worker_off_and_the_waitlist_moves_up(app, tree, make_course, make_user, instructor):
    course = make_course(capacity=1, starts_on=utcnow().date() - timedelta(days=1))  # already started
    seated, first, second = workers(make_user, tree.a1, 3)
    for person in (seated, first, second):
        enroll(person, course, now=utcnow())
        db.session.commit()
    rows = {row.user_id: row.id for row in db.session.scalars(select(Enrollment))}
    url = f"/teach/courses/{course.id}/enrollments/{rows[seated.id]}/remove"
    assert login_client(app, first).post(url).status_code == 404  # a worker cannot
    assert login_client(app, make_user("别的老师", union=tree.b1, role=("instructor", tree.b1))).post(
        url).status_code == 404
    assert status_of(seated, course) == "enrolled"
    teacher = login_client(app, instructor)
    roster = teacher.get(f"/teach/courses/{course.id}/roster").get_data(as_text=True)
    assert f'data-remove-enrollment="{rows[seated.id]}"' in roster
    page = teacher.post(url, follow_redirects=True).get_data(as_text=True)
    assert "was taken off the list" in page
    assert [status_of(p, course) for p in (seated, first, second)] == ["dropped", "enrolled", "waitlisted"]
    assert waitlist_position(db.session.get(Enrollment, rows[second.id])) == 1
    db.session.refresh(course)
    assert (course.enrolled_count, course.waitlist_count) == (1, 1)
    assert db.session.scalars(select(Notification.kind).where(Notification.user_id == seated.id)).all() == [
        "enrollment.removed"]
    assert db.session.scalars(select(Notification.kind).where(Notification.user_id == first.id)).all() == [
        "enrollment.promoted"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrollment.remove"))
    assert event.actor_id == instructor.id and event.object_id == rows[seated.id]
    again = teacher.post(url, follow_redirects=True).get_data(as_text=True)
    assert "no longer on the list" in again


def test_a_scope_admin_takes_a_waitlisted_worker_off(app, tree, make_course, make_user, make_admin):
    course = make_course(capacity=1, scope=tree.district_a)
    seated, waiting = workers(make_user, tree.a1, 2)
    for person in (seated, waiting):
        enroll(person, course, now=utcnow())
        db.session.commit()
    row = db.session.scalar(select(Enrollment).filter_by(user_id=waiting.id))
    url = f"/teach/courses/{course.id}/enrollments/{row.id}/remove"
    assert login_client(app, make_admin(tree.district_b)).post(url).status_code == 404
    assert login_client(app, make_admin(tree.district_a)).post(url).status_code == 302
    assert [status_of(p, course) for p in (seated, waiting)] == ["enrolled", "dropped"]
    db.session.refresh(course)
    assert (course.enrolled_count, course.waitlist_count) == (1, 0)


@pytest.mark.parametrize("trial", range(5))
def test_fifty_workers_race_for_ten_seats(app, tree, make_course, make_user, trial):
    course = make_course(f"抢座{trial}", capacity=10)
    people = workers(make_user, tree.a1, 50, prefix=f"抢{trial}-")
    clients = [login_client(app, person) for person in people]
    url = f"/courses/{course.id}/enroll"
    results = run_at_once(50, lambda i: clients[i].post(url))
    assert [getattr(r, "status_code", r) for r in results] == [302] * 50
    statuses = db.session.scalars(select(Enrollment.status).where(Enrollment.course_id == course.id)).all()
    assert statuses.count("enrolled") == 10 and statuses.count("waitlisted") == 40
    waiting = db.session.scalars(select(Enrollment).filter_by(course_id=course.id, status="waitlisted")).all()
    assert sorted(waitlist_position(row) for row in waiting) == list(range(1, 41))
    db.session.refresh(course)
    assert (course.enrolled_count, course.waitlist_count) == (10, 40)


def test_one_worker_posting_twenty_times_at_once_gets_one_row(app, tree, make_course, make_user):
    course = make_course(capacity=10)
    worker = make_user(union=tree.a1)
    clients = [login_client(app, worker) for _ in range(20)]
    url = f"/courses/{course.id}/enroll"
    results = run_at_once(20, lambda i: clients[i].post(url))
    assert [getattr(r, "status_code", r) for r in results] == [302] * 20
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1
    db.session.refresh(course)
    assert course.enrolled_count == 1


def test_a_sign_up_change_is_announced_once_whenever_it_is_sent_and_anew_for_a_new_sign_up(
        app, tree, make_course, make_user, instructor):
    """The keys of "removed", "promoted" and "decided" name the sign-up and the change, not the moment: the
    same change sent at two moments is one message; the same person removed after signing up again is told again."""
    course = make_course(capacity=1)
    seated, waiting = workers(make_user, tree.a1, 2)
    for person in (seated, waiting):
        enroll(person, course, now=utcnow())
        db.session.commit()
    row = db.session.scalar(select(Enrollment).filter_by(user_id=seated.id))

    def keys_when_removed(at):
        remove(row, actor=instructor, now=at)
        keys = sorted(db.session.scalars(select(Notification.dedup_key)))
        db.session.rollback()
        return keys

    keys = keys_when_removed(utcnow())
    assert len(keys) == 2 and keys == keys_when_removed(utcnow() + timedelta(minutes=5))  # removed + promoted
    remove(row, actor=instructor, now=utcnow())
    db.session.commit()
    drop(db.session.scalar(select(Enrollment).filter_by(user_id=waiting.id)), now=utcnow())
    db.session.commit()
    enroll(seated, course, now=utcnow())
    db.session.commit()
    remove(row, actor=instructor, now=utcnow())
    db.session.commit()
    told = db.session.scalars(select(Notification.kind).where(Notification.user_id == seated.id)).all()
    assert told == ["enrollment.removed", "enrollment.removed"]

    vetted = make_course("需审核的课程", requires_approval=True)
    enroll(waiting, vetted, now=utcnow())
    db.session.commit()
    pending = db.session.scalar(select(Enrollment).filter_by(user_id=waiting.id, course_id=vetted.id))
    decided = []
    for at in (utcnow(), utcnow() + timedelta(hours=1)):
        decide(pending, False, actor=instructor, now=at, reason="名额已满")
        decided.append(db.session.scalars(select(Notification.dedup_key)
                                          .where(Notification.kind == "enrollment.decided")).all())
        db.session.rollback()
    assert len(decided[0]) == 1 and decided[0] == decided[1]

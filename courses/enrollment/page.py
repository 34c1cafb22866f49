"""The course page (/courses/<id>) for one reader, in one statement: the course's version, status, seat counts and
scope read live with the reader's own part — their sign-up and place in line, whether they follow or teach the
course, their union, where they are in its lessons — beside the kept drawing of that version
(courses/enrollment/drawing.py). The rules are those of can_access, can_view and check_open, on what was read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flask import abort, render_template, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import Integer, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from classroom.cache import app_cache
from classroom.database import read_now
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from classroom.unions.scope import can_manage_path
from courses.catalog.models import Course, CourseFollow, CourseInstructor, CourseStatus, Lesson
from courses.catalog.visibility import covers, scope_path_of
from courses.enrollment.drawing import KEEP_SECONDS, drawing
from courses.enrollment.models import SEATED, Enrollment, EnrollmentStatus
from courses.enrollment.rules import offers
from courses.enrollment.services import OPEN_STATUSES, announcement_reach, line_up_to
from courses.study.models import Exam, LessonProgress

KEPT_ASIDES = 512  # side columns per process: a few readers' states of the courses being read, ~2 KB each
CSRF_MARK = Markup("\x00csrf\x00")  # where a kept side column takes the reader's token (no request has a NUL)


@dataclass(frozen=True)
class Live:
    """The course as it is now, and the reader's part of it (a visitor's: the defaults)."""

    id: int
    version: int
    status: str
    capacity: int | None
    enrolled_count: int
    waitlist_count: int
    scope_path: str
    city_wide: bool
    signup: str | None = None  # the status of the reader's sign-up
    reason: str | None = None  # why it was not approved
    position: int | None = None  # in the waitlist
    following: bool = False
    teaches: bool = False
    person_path: str | None = None  # the reader's union (scope_union_path)
    study: tuple[int | None, bool, bool] = (None, False, False)  # study_point_columns, for those who study it

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.enrolled_count)


def course_page(user, course_id: int, *, now: datetime) -> dict[str, Any]:
    """What enrollment/course.html shows ``user``; 404 unless they may open the course (can_access)."""
    live = read_live(user, course_id)
    if live is None:
        abort(404)
    manage = bool(user.is_authenticated and (user.is_site_admin or live.teaches or
                                             can_manage_path(user, live.scope_path)))  # can_manage_enrollments
    published = live.status == CourseStatus.PUBLISHED
    sees = (published and covers(live.scope_path, live.city_wide, live.person_path)) or manage  # can_view
    mine = Enrollment(status=live.signup, reason=live.reason) if live.signup is not None else None
    if not (sees or (mine is not None and live.status != CourseStatus.DRAFT and mine.status in OPEN_STATUSES)):
        abort(404)
    drawn = drawing(course_id, live.version)
    if drawn is None:
        abort(404)
    reach = announcement_reach(live.signup, manage=manage)
    side = {"page": drawn, "course": live, "mine": mine, "manage": manage, "position": live.position,
            "following": live.following, "study": live.study, "signed_in": user.is_authenticated,
            "offers": offers(drawn, mine, seen=published and sees, now=now)}
    return {"page": drawn, "linked": live.signup in SEATED, "aside": aside(side),
            "news": drawn.news if reach == "all" else drawn.waitlist_news if reach == "waitlist" else ""}


def aside(side: dict[str, Any]) -> Markup:
    """The side column (enrollment/_course_aside.html) for what ``side`` holds, drawn once for every reader who
    sees the same and kept; the reader's CSRF token put in."""
    live, offered = side["course"], side["offers"]
    key = (side["page"].key, live.status, live.capacity, live.enrolled_count, live.waitlist_count, live.signup,
           live.reason, live.position, live.study if live.signup in SEATED else None, offered.enroll, offered.leave,
           side["signed_in"], live.following, side["manage"], None if side["signed_in"] else request.path)

    def draw() -> str:
        return render_template("enrollment/_course_aside.html", csrf=CSRF_MARK, request_path=request.path, **side)

    drawn = app_cache("course-asides", KEPT_ASIDES).get_or_set(key, KEEP_SECONDS, draw)
    return Markup(drawn.replace(CSRF_MARK, generate_csrf()))  # noqa: S704 - our template's, and a URL-safe token


def read_live(user, course_id: int) -> Live | None:
    """The course's live part and the reader's, in one statement (None: no such course)."""
    if not user.is_authenticated:
        row = read_now(db.session, _live_statement(False), {"course_id": course_id})
        return _course_part(row) if row is not None else None
    row = read_now(db.session, _live_statement(True), {"course_id": course_id, "reader": user.id})
    if row is None:
        return None
    signup, reason, position, following, teaches, person_path, first, opened, exam = row[8:]
    return _course_part(row, signup=signup, reason=reason, position=position, following=bool(following),
                        teaches=bool(teaches), person_path=person_path, study=(first, bool(opened), bool(exam)))


def _course_part(row, **reader: Any) -> Live:
    return Live(id=row[0], version=row[1], status=row[2], capacity=row[3], enrolled_count=row[4],
                waitlist_count=row[5], scope_path=row[6], city_wide=bool(row[7]), **reader)


def study_point_columns(user_id, course_id) -> tuple:
    """SQL columns: the position of the person's first lesson not completed (None when every lesson is, or there
    is none), whether they have opened any lesson of the course, whether the course has an exam."""
    first = (select(func.min(Lesson.position)).select_from(Lesson)
             .outerjoin(LessonProgress, (LessonProgress.lesson_id == Lesson.id) & (LessonProgress.user_id == user_id))
             .where(Lesson.course_id == course_id, LessonProgress.completed_at.is_(None)).scalar_subquery())
    opened = select(LessonProgress.id).where(LessonProgress.user_id == user_id,
                                             LessonProgress.course_id == course_id).exists()
    exam = select(Exam.id).where(Exam.course_id == course_id).exists()
    return first, opened, exam


@cache  # built once: the parameters are bound at execution
def _live_statement(of_reader: bool) -> Select:
    course_id, reader = bindparam("course_id", type_=Integer), bindparam("reader", type_=Integer)
    scope = aliased(TradeUnion)
    statement = (select(Course.id, Course.content_version, Course.status, Course.capacity, Course.enrolled_count,
                        Course.waitlist_count, scope.path, scope.parent_id.is_(None))
                 .join(scope, scope.id == Course.scope_union_id).where(Course.id == course_id))
    if not of_reader:
        return statement
    first, opened, exam = study_point_columns(reader, course_id)
    return statement.outerjoin(Enrollment, and_(Enrollment.course_id == Course.id, Enrollment.user_id == reader)) \
        .add_columns(
            Enrollment.status, Enrollment.reason,
            case((Enrollment.status == EnrollmentStatus.WAITLISTED,
                  line_up_to(course_id, Enrollment.waitlist_seq).scalar_subquery())),
            select(CourseFollow.id).where(CourseFollow.user_id == reader, CourseFollow.course_id == course_id).exists(),
            select(CourseInstructor.user_id).where(CourseInstructor.course_id == course_id,
                                                   CourseInstructor.user_id == reader).exists(),
            scope_path_of(reader).scalar_subquery(),
            case((or_(*(Enrollment.status == status for status in SEATED)), first)), opened, exam)  # (no expanding IN)

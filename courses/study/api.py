"""Studying through the API, as the lesson pages do: the worker's courses with their progress, a lesson with the
time studied, heartbeats (credited as on the page: never more than one beat's interval, nothing for a hidden
app with ``resume``), and completing a lesson once its share of time is studied. Exams: courses.study.exam_api."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from classroom.api.door import deny, run
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, instant, page_of
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.extensions import db
from courses.catalog.models import Course, CourseMode, Lesson
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.enrollment.services import can_access, can_manage_enrollments, enrollment_of
from courses.study import queries
from courses.study import services as study
from courses.study.models import LessonProgress

bp = ApiBlueprint("api_study", __name__, url_prefix="/api/v1",
                  description="Studying: the worker's courses with their progress, lessons and study time.")


class StudiedCourseSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    mode = fields.String(required=True, metadata={"enum": [mode.value for mode in CourseMode]})
    credit_minutes = fields.Integer(required=True)
    starts_on = fields.Date(required=True, allow_none=True)
    ends_on = fields.Date(required=True, allow_none=True)


class MyCourseSchema(Schema):
    enrollment_id = fields.Integer(required=True)
    course = fields.Nested(StudiedCourseSchema, required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in queries.MY_STATUSES]})
    status_label = fields.String(required=True)
    lessons_completed = fields.Integer(required=True)
    lessons_total = fields.Integer(required=True)
    requested_at = instant(required=True)
    last_studied_at = instant(required=True, allow_none=True)
    completed_at = instant(required=True, allow_none=True)


class ProgressSchema(Schema):
    seconds = fields.Integer(required=True, metadata={"description": "Seconds of study credited."})
    needed = fields.Integer(required=True, metadata={"description": "Seconds needed before completing it."})
    can_complete = fields.Boolean(required=True)
    completed_at = instant(required=True, allow_none=True)


class StudiedLessonSchema(Schema):
    course_id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown."})
    video_url = fields.String(required=True, allow_none=True)
    credit_minutes = fields.Integer(required=True)
    progress = fields.Nested(ProgressSchema, required=True, allow_none=True,
                             metadata={"description": "Null for an instructor reading the lesson."})


class HeartbeatSchema(Schema):
    resume = fields.Boolean(load_default=False, metadata={
        "description": "The app came back to the front: the clock restarts without credit."})


class CompletionSchema(ProgressSchema):
    course_completed = fields.Boolean(required=True, metadata={"description": "The course's rule is met."})


@bp.route("/me/courses")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(MyCourseSchema, "MyCoursePage"))
def my_courses(args: dict):
    """The worker's current and finished sign-ups (My courses), the newest first, with lessons completed."""
    person = current_person()
    page = cursor_page(queries.my_enrollments(person.id), (Enrollment.requested_at, Enrollment.id),
                       lambda row: (row.requested_at, row.id), limit=args["limit"], cursor=args.get("cursor"))
    progress = queries.progress_summary(person.id, [row.course_id for row in page.items])
    return {"items": [{"enrollment_id": row.id, "course": row.course, "status": row.status,
                       "status_label": row.status_label, "lessons_completed": progress[row.course_id][0],
                       "lessons_total": progress[row.course_id][1], "requested_at": row.requested_at,
                       "last_studied_at": row.last_studied_at, "completed_at": row.completed_at}
                      for row in page.items], "next_cursor": page.next_cursor}


@bp.route("/courses/<int:course_id>/lessons/<int:position>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, StudiedLessonSchema)
def lesson(course_id: int, position: int):
    """A lesson of a course the worker studies (numbered from 1), with the time studied; 403 before enrolling."""
    person = current_person()
    course, found = lesson_or_404(course_id, position)
    studying = study.is_studying(person.id, course.id)
    if not studying and not can_manage_enrollments(person, course):
        raise Problem("forbidden", _l("Enroll in the course to study its lessons."))
    progress = study.progress_of(person.id, found.id) if studying else None
    return {"course_id": course.id, "position": found.position, "title": found.title, "body": found.body,
            "video_url": found.video_url, "credit_minutes": found.credit_minutes,
            "progress": progress_answer(found, progress) if studying else None}


@bp.route("/courses/<int:course_id>/lessons/<int:position>/heartbeat", methods=["POST"])
@bp.auth(person=True)
@bp.arguments(HeartbeatSchema)
@bp.response(200, ProgressSchema)
def heartbeat(data: dict, course_id: int, position: int):
    """Send every HEARTBEAT_SECONDS (30) while the lesson is in front: the time since the last beat is credited,
    never more than one interval and a half. The first beat opens the lesson."""
    person = current_person()
    _course, found = lesson_or_404(course_id, position)
    progress = run(lambda: study.heartbeat(person, found, now=utcnow(), resume=data["resume"]))
    return progress_answer(found, progress)


@bp.route("/courses/<int:course_id>/lessons/<int:position>/complete", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(200, CompletionSchema)
def complete(course_id: int, position: int):
    """Mark the lesson complete once its share of time is studied (409 before); completing the last requirement
    completes the course (its certificate and hours follow)."""
    person = current_person()
    course, found = lesson_or_404(course_id, position)
    run(lambda: study.complete_lesson(person, found, now=utcnow()))
    mine = enrollment_of(person.id, course.id)
    return {**progress_answer(found, study.progress_of(person.id, found.id)),
            "course_completed": mine is not None and mine.status == EnrollmentStatus.COMPLETED}


def lesson_or_404(course_id: int, position: int) -> tuple[Course, Lesson]:
    """The course the worker may open and its lesson at ``position``; else 404."""
    course = db.session.get(Course, course_id)
    if course is not None and not can_access(current_person(), course):
        deny("Course", course_id)  # outside the worker's reach: audited
    found = queries.lesson_at(course_id, position) if course is not None else None
    if course is None or found is None:
        raise Problem("not-found")
    return course, found


def progress_answer(lesson: Lesson, progress: LessonProgress | None) -> dict:
    """The time studied, the time needed, and whether the lesson can be (or was) completed."""
    return {"seconds": progress.seconds_studied if progress else 0, "needed": study.seconds_needed(lesson),
            "can_complete": study.can_complete(progress, lesson),
            "completed_at": progress.completed_at if progress else None}

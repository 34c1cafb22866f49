"""/api/v1/courses: the catalogue as the pages show it (the same visibility, filters and sorts), a cursor page
at a time, and a course with its outline. A worker's token sees what that worker sees; a key with
``courses:read`` sees what a member of its union sees."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from marshmallow import Schema, fields
from sqlalchemy import func, literal, select

from classroom.api.pagination import cursor_page
from classroom.api.principal import Principal, current_principal
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, instant, one_of, page_of, query_number, text
from classroom.api.spec import ApiBlueprint
from classroom.cache import TTLCache
from classroom.database import utcnow
from classroom.extensions import db
from classroom.forms import MAX_INT
from classroom.timefmt import local_date
from courses.catalog.catalogue import MAX_WITHIN_DAYS, CatalogueFilters, catalogue
from courses.catalog.models import Course, CourseMode
from courses.catalog.queries import course_with_outline
from courses.catalog.visibility import can_view, scope_union_path, visible_clause

bp = ApiBlueprint("api_courses", __name__, url_prefix="/api/v1/courses", description="The course catalogue.")
SCOPE = "courses:read"
LAST_DAY = date(9999, 12, 31)  # "starting soonest" puts courses without a start date last
ORDERS: dict[str, tuple[tuple, Any, bool]] = {  # sort → (keyset columns, a course's key, descending)
    "newest": ((func.coalesce(Course.published_at, Course.created_at), Course.id),
               lambda course: (course.published_at or course.created_at, course.id), True),
    "popular": ((Course.enrolled_count, Course.id), lambda course: (course.enrolled_count, course.id), True),
    "starting": ((func.coalesce(Course.starts_on, literal(LAST_DAY)), Course.id),
                 lambda course: (course.starts_on or LAST_DAY, course.id), False),
}


class CatalogueArgs(CursorArgs):
    q = text(100, metadata={"description": "Words of the title or summary."})
    category = text(50)
    mode = one_of([mode.value for mode in CourseMode])
    level = query_number(1, 5, metadata={"description": "Target skill level: 5 (junior) … 1."})
    union = query_number(1, MAX_INT, metadata={"description": "Hosted by this union or one below it."})
    seats = fields.Boolean(metadata={"description": "Only courses with seats left."})
    within = query_number(0, MAX_WITHIN_DAYS, metadata={"description": "Starting within this many days."})
    sort = one_of(list(ORDERS), load_default="newest")


class HostSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class InstructorSchema(Schema):
    real_name = fields.String(required=True)


class CourseSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    category = fields.String(required=True)
    target_level = fields.Integer(required=True, allow_none=True)
    mode = fields.String(required=True, metadata={"enum": [mode.value for mode in CourseMode]})
    credit_minutes = fields.Integer(required=True)
    host_union = fields.Nested(HostSchema, required=True)
    studio = fields.String(required=True, allow_none=True)
    instructors = fields.List(fields.Pluck(InstructorSchema, "real_name"), required=True,
                              metadata={"description": "The instructors' names."})
    starts_on = fields.Date(required=True, allow_none=True)
    ends_on = fields.Date(required=True, allow_none=True)
    enroll_opens_at = instant(required=True, allow_none=True)
    enroll_closes_at = instant(required=True, allow_none=True)
    capacity = fields.Integer(required=True, allow_none=True)
    seats_left = fields.Integer(required=True, allow_none=True)
    requires_approval = fields.Boolean(required=True)
    published_at = instant(required=True, allow_none=True)


class LessonSchema(Schema):
    position = fields.Integer(required=True)
    title = fields.String(required=True)
    credit_minutes = fields.Integer(required=True)


class SessionSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "For check-in (POST /api/v1/attendance/checkins)."})
    title = fields.String(required=True, allow_none=True)
    starts_at = instant(required=True)
    ends_at = instant(required=True)
    venue_name = fields.String(required=True)
    venue_address = fields.String(required=True, allow_none=True)
    credit_minutes = fields.Integer(required=True)


class CourseDetailSchema(CourseSchema):
    description = fields.String(required=True, metadata={"description": "Markdown."})
    lessons = fields.List(fields.Nested(LessonSchema), required=True)
    sessions = fields.List(fields.Nested(SessionSchema), required=True)
    enrolled_count = fields.Integer(required=True, metadata={"description": "Seats taken."})
    waitlist_count = fields.Integer(required=True, metadata={"description": "People waiting for a seat."})
    min_lesson_share = fields.Integer(required=True, metadata={"description": "Completion: percent of lessons."})
    min_attendance_share = fields.Integer(required=True, metadata={"description": "Completion: percent of classes."})
    min_exam_score = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Completion: the exam score needed (percent); null when no exam is needed."})


CoursePageSchema = page_of(CourseSchema, "CoursePage")
# As the catalogue page keeps its list (courses.catalog.views): a page of the list is the same for everyone of
# one union for CATALOGUE_CACHE_SECONDS (seat counts may lag that long; a course and enrolling read live data).
pages = TTLCache(max_entries=2048)
viewer_paths = TTLCache(max_entries=20000)


@bp.route("")
@bp.auth(scope=SCOPE)
@bp.etag
@bp.arguments(CatalogueArgs, location="query")
@bp.response(200, CoursePageSchema)
def index(args: dict):
    """The published courses the caller may see, filtered and sorted as on the catalogue page."""
    ttl, principal = current_app.config["CATALOGUE_CACHE_SECONDS"], current_principal()
    path = viewer_paths.get_or_set(principal.user.id, ttl, lambda: viewer_path(principal)) \
        if principal.user is not None else viewer_path(principal)
    return bp.kept_answer(pages, (path, tuple(sorted(args.items()))), ttl, CoursePageSchema,
                          lambda: page_for(path, args))


def page_for(union_path: str | None, args: dict) -> dict:
    """A page of the catalogue as a member of ``union_path`` sees it."""
    columns, key_of, descending = ORDERS[args["sort"]]
    statement = catalogue(union_path, filters(args), today=local_date(utcnow()))
    page = cursor_page(statement, columns, key_of, limit=args["limit"], cursor=args.get("cursor"),
                       descending=descending)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/<int:course_id>")
@bp.auth(scope=SCOPE)
@bp.etag
@bp.response(200, CourseDetailSchema)
def show(course_id: int):
    """A course with its lessons and class sessions (404 when the caller may not see it)."""
    course = course_with_outline(course_id)
    if course is None or not visible_to(current_principal(), course):
        raise Problem("not-found")
    return course


def viewer_path(principal: Principal) -> str | None:
    """Whose catalogue: the worker's union (active membership), or the key's union."""
    return scope_union_path(principal.user) if principal.user is not None else principal.union_path


def visible_to(principal: Principal, course: Course) -> bool:
    """The catalogue's rule: the person's (instructors and reviewers see more), or a member's of the key's union."""
    if principal.user is not None:
        return can_view(principal.user, course)
    return db.session.scalar(select(Course.id).where(Course.id == course.id,
                                                     visible_clause(principal.union_path))) is not None


def filters(args: dict) -> CatalogueFilters:
    """The page's filters from the query's arguments."""
    return CatalogueFilters(q=args.get("q", ""), category=args.get("category", ""), mode=args.get("mode", ""),
                            level=args.get("level"), union_id=args.get("union"), has_seats=args.get("seats", False),
                            starts_within_days=args.get("within"), sort=args["sort"])

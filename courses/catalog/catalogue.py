"""The public catalogue: the published courses a person may see, filtered and sorted, and the
choices of its filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.catalog.models import Course, CourseStatus
from courses.catalog.visibility import visible_clause

MAX_WITHIN_DAYS = 3660  # "starts within" reaches ten years at most


@dataclass
class CatalogueFilters:
    q: str = ""
    category: str = ""
    level: int | None = None
    mode: str = ""
    union_id: int | None = None
    has_seats: bool = False
    starts_within_days: int | None = None
    sort: str = "newest"


def catalogue(user_path: str | None, filters: CatalogueFilters, *, today: date) -> Select:
    """SELECT of the published courses a person of this union path may see, filtered and sorted."""
    statement = select(Course).where(visible_clause(user_path)).options(
        joinedload(Course.host_union), selectinload(Course.instructors))
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        statement = statement.where(or_(Course.title.ilike(pattern, escape="\\"),
                                        Course.summary.ilike(pattern, escape="\\")))
    if filters.category:
        statement = statement.where(Course.category == filters.category)
    if filters.level:
        statement = statement.where(Course.target_level == filters.level)
    if filters.mode:
        statement = statement.where(Course.mode == filters.mode)
    if filters.union_id:  # hosted by that union or any union below it
        host = aliased(TradeUnion)
        chosen = select(TradeUnion.path).where(TradeUnion.id == filters.union_id).scalar_subquery()
        statement = statement.where(Course.host_union_id.in_(
            select(host.id).where(host.path.startswith(chosen, autoescape=False))))
    if filters.has_seats:
        statement = statement.where(or_(Course.capacity.is_(None), Course.enrolled_count < Course.capacity))
    if filters.starts_within_days is not None:
        days = min(max(filters.starts_within_days, 0), MAX_WITHIN_DAYS)
        statement = statement.where(Course.starts_on >= today, Course.starts_on <= today + timedelta(days=days))
    order = {
        "starting": (Course.starts_on.is_(None), Course.starts_on, Course.id),
        "popular": (Course.enrolled_count.desc(), Course.id.desc()),
    }.get(filters.sort, (Course.published_at.desc(), Course.id.desc()))
    return statement.order_by(*order)


def categories() -> list[str]:
    """The categories of the published courses, in order."""
    return list(db.session.scalars(
        select(Course.category).where(Course.status == CourseStatus.PUBLISHED).distinct().order_by(Course.category)
    ))


def host_unions() -> list[tuple[str, str]]:
    """The unions that host published courses and the unions above them, in tree order (a
    district's filter takes in the courses of every union below it), as (id, indented name)."""
    paths = db.session.scalars(
        select(TradeUnion.path).where(
            TradeUnion.id.in_(select(Course.host_union_id).where(Course.status == CourseStatus.PUBLISHED)))
    ).all()
    ids = {int(part) for path in paths for part in path.strip("/").split("/") if part}
    if not ids:
        return []
    rows = db.session.execute(
        select(TradeUnion.id, TradeUnion.name, TradeUnion.depth, TradeUnion.path).where(TradeUnion.id.in_(ids))
    ).all()
    ordered = sorted(rows, key=lambda row: [int(part) for part in row.path.strip("/").split("/")])
    return [(str(row.id), "\u3000" * row.depth + row.name) for row in ordered]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

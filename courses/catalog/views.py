"""The public catalogue: /courses/."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from classroom.cache import TTLCache
from classroom.database import utcnow
from classroom.extensions import db
from classroom.forms import bounded_int
from classroom.http import paginate
from classroom.i18n import locale_code, select_timezone
from classroom.timefmt import zone
from classroom.unions.models import TradeUnion
from courses.catalog.forms import CatalogueForm
from courses.catalog.models import Course, CourseStatus
from courses.catalog.services import CatalogueFilters, catalogue, categories, scope_union_path

bp = Blueprint("catalog", __name__, url_prefix="/courses")

# The list part of the page is the same for everyone of one union, language and timezone: it is
# rendered once per CATALOGUE_CACHE_SECONDS (seat counts on the cards may lag that long; the
# course page and enrolling always read live data).
results_cache = TTLCache(max_entries=2048)
member_paths = TTLCache(max_entries=20000)


@bp.route("/")
def index():
    ttl = current_app.config["CATALOGUE_CACHE_SECONDS"]
    path = member_paths.get_or_set(current_user.get_id(), ttl, lambda: scope_union_path(current_user)) \
        if current_user.is_authenticated else None
    key = (path, tuple(sorted(request.args.items(multi=True))), locale_code(), select_timezone())
    results = results_cache.get_or_set(key, ttl, lambda: _render_results(path))
    return render_template("catalog/index.html", results=results)


def _render_results(path: str | None) -> Markup:
    form = CatalogueForm(formdata=request.args)
    form.category.choices = [("", form.category.label.text)] + [(c, c) for c in categories()]
    form.union.choices = [("", form.union.label.text)] + host_unions()
    form.validate()
    today = utcnow().astimezone(zone(None)).date()
    page = paginate(catalogue(path, filters_from(form), today=today))
    return Markup(render_template("catalog/_results.html", form=form, page=page))  # noqa: S704 - our template


def filters_from(form: CatalogueForm) -> CatalogueFilters:
    def value(name):
        return form[name].data if not form[name].errors else None

    return CatalogueFilters(
        q=value("q") or "", category=value("category") or "", mode=value("mode") or "",
        level=_int(value("level")), union_id=_int(value("union")), has_seats=bool(value("seats")),
        starts_within_days=_int(value("within")), sort=value("sort") or "newest")


def _int(value) -> int | None:
    try:
        return bounded_int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def host_unions() -> list[tuple[str, str]]:
    """The unions that host published courses and the unions above them, in tree order (a
    district's filter takes in the courses of every union below it)."""
    paths = db.session.scalars(
        select(TradeUnion.path).where(
            TradeUnion.id.in_(select(Course.host_union_id).where(Course.status == CourseStatus.PUBLISHED)))
    ).all()
    ids = {int(part) for path in paths for part in path.strip("/").split("/") if part}
    rows = db.session.execute(
        select(TradeUnion.id, TradeUnion.name, TradeUnion.depth, TradeUnion.path).where(TradeUnion.id.in_(ids))
    ).all() if ids else []
    rows.sort(key=lambda row: [int(part) for part in row.path.strip("/").split("/")])
    return [(str(row.id), "\u3000" * row.depth + row.name) for row in rows]

"""The public catalogue: /courses/."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup

from classroom.cache import TTLCache
from classroom.database import utcnow
from classroom.forms import bounded_int
from classroom.http import paginate
from classroom.i18n import locale_code, select_timezone
from classroom.timefmt import local_date
from courses.catalog.catalogue import CatalogueFilters, catalogue, categories, host_unions
from courses.catalog.forms import CatalogueForm
from courses.catalog.visibility import scope_union_path

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
    page = paginate(catalogue(path, filters_from(form), today=local_date(utcnow())))
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


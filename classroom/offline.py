"""Pages a worker can read with no connection. A view marked ``@offline_copy`` is kept by the service worker
(/sw.js, classroom/main/webapp_views.py) after one visit: network first, its last copy when the network
fails. Every page carries the time it was drawn, which the offline notice shows (static/js/offline.js)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import Flask, current_app, render_template, url_for
from markupsafe import Markup

from classroom.database import utcnow
from classroom.i18n import locale_code, select_timezone

View = TypeVar("View", bound=Callable)


def offline_copy(view: View) -> View:
    """Mark a page (a view without URL arguments) as readable offline after one visit."""
    view.offline_copy = True  # type: ignore[attr-defined]  # read back by offline_paths()
    return view


def offline_paths() -> list[str]:
    """The paths of the pages marked ``@offline_copy``, for the service worker."""
    return sorted(url_for(endpoint) for endpoint, view in current_app.view_functions.items()
                  if getattr(view, "offline_copy", False))


def rendered_at() -> datetime:
    """When this page was drawn (the offline notice's "last updated")."""
    return utcnow()


def offline_notice() -> Markup:
    """The offline notice of a page drawn now (templates/_offline_notice.html): the same for every page drawn in
    one second, language and timezone, so drawn once for them (the latest one kept)."""
    drawn_at = rendered_at().replace(microsecond=0)
    key = (drawn_at, locale_code(), select_timezone())
    kept = current_app.extensions["offline_notice"]
    last = kept.get("last")
    if last is None or last[0] != key:
        last = kept["last"] = (key, Markup(render_template("_offline_notice.html", drawn_at=drawn_at)))  # noqa: S704
    return last[1]


def init_app(app: Flask) -> None:
    """The templates' ``rendered_at()`` and ``offline_notice()``."""
    app.extensions["offline_notice"] = {}
    app.jinja_env.globals.update(rendered_at=rendered_at, offline_notice=offline_notice)

"""Pages a worker can read with no connection. A view marked ``@offline_copy`` is kept by the service worker
(/sw.js, classroom/main/webapp_views.py) after one visit: network first, its last copy when the network
fails. Every page carries the time it was drawn, which the offline notice shows (static/js/offline.js)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import Flask, current_app, url_for

from classroom.database import utcnow

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


def init_app(app: Flask) -> None:
    """The templates' ``rendered_at()``."""
    app.jinja_env.globals["rendered_at"] = rendered_at

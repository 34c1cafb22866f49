"""The platform as an installable web app: its manifest, its service worker (served from the root, so that it
may answer for every page) and /favicon.ico."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from classroom.assets import asset_url, version
from classroom.offline import offline_paths

bp = Blueprint("webapp", __name__)
THEME_COLOUR = "#b71c1c"  # the union red of the navigation bar
# What the service worker keeps when it installs: every page's styles and scripts (not the icons, which the
# browser fetches itself, nor the service worker's own source).
PRECACHED = ("css/", "js/", "img/logo.svg", "img/favicon.svg", "vendor/bootstrap/bootstrap.")
NOT_PRECACHED = ("js/sw.js",)
NOT_SENT = _l("No connection: nothing was sent. Try again when you are back online.")


@bp.route("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: name, icons, colours, and the home page opened full-screen."""
    home = url_for("main.home")
    icons = [{"src": asset_url(f"img/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png",
              "purpose": "any maskable"} for size in (192, 512)]
    response = jsonify({
        "name": "职工学堂", "short_name": "职工学堂", "lang": "zh-CN", "id": home, "start_url": home,
        "scope": home, "display": "standalone", "theme_color": THEME_COLOUR, "background_color": "#ffffff",
        "description": _("Worker Classroom · a lifelong-learning platform of the city trade-union federation"),
        "icons": [*icons, {"src": asset_url("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    })
    response.mimetype = "application/manifest+json"
    return _revalidated(response)


@bp.route("/sw.js")
def service_worker() -> Response:
    """The service worker: its settings (this version's static files, the pages kept offline) before its code."""
    response = current_app.response_class(f"const SETTINGS = {json.dumps(_settings())};\n{_worker_source()}",
                                          mimetype="text/javascript")
    return _revalidated(response)


@bp.route("/favicon.ico")
def favicon() -> Response:
    """For programs that ask for /favicon.ico without reading the page (the pages link an SVG icon)."""
    response = redirect(asset_url("img/favicon.ico"), 301)
    response.cache_control.max_age = 86400
    return response


def _settings() -> dict:
    digests = current_app.extensions["assets"]["digests"]
    return {
        "version": version(),
        "precache": [asset_url(name) for name in digests
                     if name.startswith(PRECACHED) and name not in NOT_PRECACHED],
        "assets": f"{request.script_root}{current_app.static_url_path}/",  # /static/<digest>/…: cache first
        "pages": offline_paths(),
        "forget": [url_for("auth.login"), url_for("auth.logout")],  # a person signs in or out: their copies go
        "notSent": _in_each_language(NOT_SENT), "notSentTitle": " · ".join(_in_each_language(_l("Worker Classroom"))),
    }


def _in_each_language(message: str) -> list[str]:
    languages = current_app.config["LANGUAGES"]
    texts = []
    for code in languages:
        with force_locale(code):
            texts.append(str(message))
    return texts


def _worker_source() -> str:
    folder = Path(current_app.static_folder or "static")
    return (folder / "js" / "sw.js").read_text(encoding="utf-8")


def _revalidated(response: Response) -> Response:
    """Asked for again on each use, answered 304 while unchanged."""
    response.cache_control.no_cache = True
    response.add_etag()
    return response.make_conditional(request)

"""Worker Classroom (职工学堂): the application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from classroom import accounts, api, main, notifications, ratelimits, registry, unions
from classroom.extensions import babel, compress, csrf, db, limiter, login_manager, migrate
from classroom.forms import BoundedIntegerConverter
from classroom.unions import announcements
from courses import attendance, catalog, certificates, competitions, drills, enrollment, hours, reminders, study
from courses import cli as course_cli


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the app: settings, extensions, then each package's ``init_app`` in this order (the shell
    before the learning domain, and within it a feature after those it builds on; the commands and
    the scheduler last, when every job and seed extension is registered)."""
    from classroom import cli, errors, scheduler, worker  # (modules that import the models: loaded with the first app)
    from courses import privacy as course_privacy

    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.environ.get("CLASSROOM_INSTANCE_PATH", str(settings.ROOT / "instance")))
    app.url_map.converters["int"] = BoundedIntegerConverter  # an id no column holds is a 404
    load_config(app, config_name, overrides)
    registry.init_app(app)
    register_extensions(app)
    errors.init_app(app)
    accounts.init_app(app)
    unions.init_app(app)
    notifications.init_app(app)
    announcements.init_app(app)
    main.init_app(app)
    catalog.init_app(app)
    enrollment.init_app(app)
    study.init_app(app)
    attendance.init_app(app)
    hours.init_app(app)
    certificates.init_app(app)
    reminders.init_app(app)
    competitions.init_app(app)
    drills.init_app(app)
    api.init_app(app)
    course_privacy.init_app(app)
    course_cli.init_app(app)
    cli.init_app(app)
    worker.init_app(app)
    scheduler.init_app(app)
    return app


def load_config(app: Flask, config_name: str | None, overrides: dict) -> None:
    name = config_name or os.environ.get("CLASSROOM_ENV", "development")
    app.config.from_object(settings.CONFIGS[name])
    app.config.from_prefixed_env(prefix="CLASSROOM")
    app.config.update(overrides)
    settings.finish(app.config, app.instance_path)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    from classroom import assets, chrome, database, i18n, inline, logs, metrics, offline, replica, security, storage

    logs.init_app(app)  # first: every answer carries its request id and is timed, refusals too
    metrics.init_app(app)
    storage.init_app(app)
    replica.init_app(app)
    if app.config.get("PROXY_COUNT"):  # behind nginx & co: trust that many X-Forwarded-* hops
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
    db.init_app(app)
    app.teardown_request(lambda _error: db.session.remove())
    database.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # the server-side log-in session does this job
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    ratelimits.register()
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    chrome.init_app(app)
    assets.init_app(app)
    compress.init_app(app)
    offline.init_app(app)
    inline.init_app(app)
    import_models()


def import_models() -> None:
    """Every model module, so that metadata (and Alembic) sees all tables."""
    import classroom.accounts.models  # noqa: F401
    import classroom.api.models  # noqa: F401
    import classroom.audit  # noqa: F401
    import classroom.notifications.models  # noqa: F401
    import classroom.unions.announcements.models  # noqa: F401
    import classroom.unions.counters  # noqa: F401
    import classroom.unions.import_models  # noqa: F401
    import classroom.unions.models  # noqa: F401
    import courses.attendance.models  # noqa: F401
    import courses.catalog.models  # noqa: F401
    import courses.certificates.models  # noqa: F401
    import courses.competitions.models  # noqa: F401
    import courses.drills.models  # noqa: F401
    import courses.enrollment.models  # noqa: F401
    import courses.hours.models  # noqa: F401
    import courses.reminders.models  # noqa: F401
    import courses.study.models  # noqa: F401

"""Worker Classroom (职工学堂): the application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from classroom.extensions import babel, csrf, db, limiter, login_manager, migrate
from classroom.forms import BoundedIntegerConverter


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the app: settings, extensions, blueprints, error pages, commands, jobs."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.environ.get("CLASSROOM_INSTANCE_PATH", str(settings.ROOT / "instance")))
    app.url_map.converters["int"] = BoundedIntegerConverter  # an id no column holds is a 404
    load_config(app, config_name, overrides)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    register_jobs(app)
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
    from classroom import chrome, database, i18n, security
    from classroom.accounts import session_cache

    if app.config.get("PROXY_COUNT"):  # behind nginx & co: trust that many X-Forwarded-* hops
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    db.init_app(app)
    app.teardown_request(lambda _error: db.session.remove())
    database.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # the server-side log-in session does this job
    session_cache.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    chrome.init_app(app)


def register_blueprints(app: Flask) -> None:
    from classroom.accounts import admin_views, me_views, privacy_views, recovery_views
    from classroom.accounts import views as auth_views
    from classroom.main import views as main_views
    from classroom.notifications import unsubscribe
    from classroom.notifications import views as notification_views
    from classroom.unions import import_views
    from classroom.unions import views as union_views

    for module in (main_views, auth_views, me_views, admin_views, union_views, notification_views, recovery_views,
                   privacy_views, import_views, unsubscribe):
        app.register_blueprint(module.bp)
    import classroom.notifications.privacy  # noqa: F401  (what closing an account erases)

    app.context_processor(notification_views.inject_unread_count)
    app.context_processor(_navigation)
    import_models()
    register_course_blueprints(app)


def register_course_blueprints(app: Flask) -> None:
    """The learning domain's pages (courses/ imports classroom/, never the other way at import time)."""
    from courses.attendance import views as attendance_views
    from courses.catalog import review_views, teach_views
    from courses.catalog import views as catalog_views
    from courses.certificates import views as certificate_views
    from courses.competitions import views as competition_views
    from courses.enrollment import views as enrollment_views
    from courses.hours import views as hours_views
    from courses.reminders import views as reminder_views
    from courses.study import attachment_views, exam_views
    from courses.study import views as study_views

    for module in (catalog_views, teach_views, review_views, enrollment_views, study_views, exam_views,
                   attachment_views, attendance_views, hours_views, certificate_views, reminder_views,
                   competition_views):
        app.register_blueprint(module.bp)
    import courses.hours.subscribers  # noqa: F401  (the ledger listens to lessons and attendance)
    import courses.privacy  # noqa: F401  (the learning records in a data download, and their erasure)


def import_models() -> None:
    """Every model module, so that metadata (and Alembic) sees all tables."""
    import classroom.accounts.models  # noqa: F401
    import classroom.audit  # noqa: F401
    import classroom.notifications.models  # noqa: F401
    import classroom.unions.counters  # noqa: F401
    import classroom.unions.import_models  # noqa: F401
    import classroom.unions.models  # noqa: F401
    import courses.attendance.models  # noqa: F401
    import courses.catalog.models  # noqa: F401
    import courses.certificates.models  # noqa: F401
    import courses.competitions.models  # noqa: F401
    import courses.enrollment.models  # noqa: F401
    import courses.hours.models  # noqa: F401
    import courses.reminders.models  # noqa: F401
    import courses.study.models  # noqa: F401


def _navigation() -> dict:
    from flask_login import current_user

    from classroom.unions.scope import is_union_admin

    if not current_user.is_authenticated:
        return {"nav": {}}
    return {"nav": {"union_admin": is_union_admin(current_user), "site_admin": current_user.is_site_admin,
                    "instructor": current_user.has_role("instructor")}}


def register_jobs(app: Flask) -> None:
    """Scheduled scans register themselves; the scheduler starts only where it is enabled."""
    import classroom.notifications.jobs  # noqa: F401
    import classroom.unions.jobs  # noqa: F401
    import courses.competitions.jobs  # noqa: F401
    import courses.reminders.jobs  # noqa: F401
    from classroom import scheduler

    scheduler.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from classroom import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from classroom import cli
    from courses import cli as course_cli

    cli.init_app(app)
    course_cli.init_app(app)

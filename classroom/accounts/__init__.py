"""People: registration, log-in, profiles, password recovery, personal-data rights, role grants."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The log-in loader and cache, the people's pages, the shell's parts of the data download, and pg_trgm for
    create_all (the people search's indexes)."""
    from classroom.accounts import (
        admin_views,
        care,
        care_views,
        me_views,
        privacy,
        privacy_views,
        recovery,
        recovery_views,
        session_cache,
        views,
    )
    from classroom.accounts.models import attach_trigram_extension
    from classroom.extensions import login_manager

    attach_trigram_extension()
    login_manager.user_loader(views.load_user)
    session_cache.init_app(app)
    for module in (views, me_views, admin_views, recovery_views, privacy_views, care_views):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["care_mode"] = care.care_mode
    app.jinja_env.globals["care_back_here"] = care.back_here
    registry = app.extensions["classroom"]
    registry.data_sections.update(privacy.SHELL_SECTIONS)
    registry.kinds[recovery.PASSWORD_RESET_KIND.name] = recovery.PASSWORD_RESET_KIND

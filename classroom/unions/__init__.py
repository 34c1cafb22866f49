"""The union tree, memberships and the union admins' pages, member imports and member counters."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The union pages, the member counters' triggers (for create_all) and their folding job."""
    from classroom.unions import counters, import_commit, import_views, views

    counters.attach_triggers()
    app.extensions["classroom"].kinds[import_commit.WELCOME.name] = import_commit.WELCOME
    app.register_blueprint(views.bp)
    app.register_blueprint(import_views.bp)
    app.extensions["classroom"].add_job("unions.fold_member_counts", counters.fold, "MEMBER_COUNT_FOLD_SECONDS")

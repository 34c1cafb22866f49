"""The union tree, memberships and the union admins' pages, member imports, announcements to a whole union
and member counters."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The union pages, the audit of out-of-scope requests, the triggers of the member counters and of the members
    per month (for create_all) and their folding job, and the member-import tasks (announcements: their own package)."""
    from classroom.unions import counters, history, import_commit, import_views, jobs, scope, views

    registry = app.extensions["classroom"]
    counters.attach_triggers()
    history.attach_triggers()
    registry.kinds[import_commit.WELCOME.name] = import_commit.WELCOME
    for blueprint in (views.bp, import_views.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(scope.ScopeDenied, views.record_denial)
    registry.add_job("unions.fold_member_counts", jobs.fold, "MEMBER_COUNT_FOLD_SECONDS")
    for action, task in jobs.TASKS.items():
        registry.tasks[task] = jobs.run_task(action)

"""What /healthz reports to anyone: the database, the migrations, the version, and what features add (the
scheduler says whether one leads, never which host or process). Nothing here names a machine."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from classroom.extensions import db
from classroom.registry import registry


@lru_cache(maxsize=4)
def migration_heads(directory: str) -> tuple[str, ...]:
    """The migrations' heads (read once per directory)."""
    return tuple(sorted(ScriptDirectory(directory).get_heads()))


def health_report() -> dict[str, Any]:
    """The report: the version, the database, the migrations, what the packages add, and the status."""
    report: dict[str, Any] = {"version": current_app.config["VERSION"]}
    current: tuple[str, ...] = ()
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        report["database"] = "unreachable"
    if report["database"] == "ok":
        try:
            current = tuple(sorted(db.session.scalars(text("SELECT version_num FROM alembic_version"))))
        except SQLAlchemyError:  # never migrated
            db.session.rollback()
    heads = migration_heads(current_app.extensions["migrate"].directory)
    report["migrations"] = {"current": list(current), "head": list(heads), "at_head": current == heads}
    for check in registry().health_checks:  # what the packages add: {name: value}
        report.update(check())
    report["status"] = "ok" if report["database"] == "ok" and report["migrations"]["at_head"] else "error"
    return report

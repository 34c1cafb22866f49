"""`flask db upgrade` from empty, then `flask db check`: no drift, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from classroom import create_app
from tests.conftest import IN_CI, PG_URL


def upgrade_and_check(url: str) -> None:
    app = create_app("testing", DATABASE_URL=url)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"user", "trade_union", "membership", "role_grant", "audit_event", "notification"} <= tables
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output


def test_upgrade_and_check_on_sqlite(tmp_path):
    upgrade_and_check(f"sqlite:///{tmp_path / 'migrated.db'}")


def test_upgrade_and_check_on_postgresql():
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set")
        pytest.skip("needs TEST_DATABASE_URL")
    admin_url = make_url(PG_URL)
    name = f"classroom_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade_and_check(admin_url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

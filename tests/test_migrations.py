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


def test_lapsed_memberships_superseded_later_are_closed(tmp_path):
    """The data migration c4d2e8f1a930: a lapsed membership followed by a membership elsewhere (active
    now, or itself lapsed since) becomes transferred; a lapse with nothing after it stays."""
    url = f"sqlite:///{tmp_path / 'data.db'}"
    app = create_app("testing", DATABASE_URL=url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "a7bb41c1c364"]).exit_code == 0
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO trade_union (id, name, code, kind, path, depth, member_seq, created_at) "
                                "VALUES (1, 'A1', 'A1', 'grassroots', '/1/', 0, 0, '2026-01-01'), "
                                "(2, 'B1', 'B1', 'grassroots', '/2/', 0, 0, '2026-01-01')"))
        connection.execute(text('INSERT INTO "user" (id, real_name, mobile, locale, timezone, notification_prefs, '
                                "is_active, created_at) VALUES "
                                "(1, '甲', '13800000001', 'zh_CN', 'Asia/Shanghai', '{}', 1, '2026-01-01'), "
                                "(2, '乙', '13800000002', 'zh_CN', 'Asia/Shanghai', '{}', 1, '2026-01-01'), "
                                "(3, '丙', '13800000003', 'zh_CN', 'Asia/Shanghai', '{}', 1, '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO membership (id, user_id, union_id, status, applied_at, started_at, ended_at) VALUES "
            "(1, 1, 1, 'lapsed', '2026-01-01', '2026-01-02', '2026-03-01'), "  # then active in B1
            "(2, 1, 2, 'active', '2026-04-01', '2026-04-02', NULL), "
            "(3, 2, 1, 'lapsed', '2026-01-01', '2026-01-02', '2026-03-01'), "  # then B1, lapsed there too
            "(4, 2, 2, 'lapsed', '2026-04-01', '2026-04-02', '2026-06-01'), "
            "(5, 3, 1, 'lapsed', '2026-01-01', '2026-01-02', '2026-03-01')"))  # nothing after it
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with engine.connect() as connection:
        statuses = dict(connection.execute(text("SELECT id, status FROM membership")).all())
    engine.dispose()
    assert statuses == {1: "transferred", 2: "active", 3: "transferred", 4: "lapsed", 5: "lapsed"}

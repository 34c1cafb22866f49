"""Read replica routing (issue 18): the hours report reads from CLASSROOM_REPLICA_DATABASE_URL; pointed at
the same PostgreSQL (lag 0) it reads there and says nothing; pointed at a dead port it answers from the
primary and says so; a replica further behind than REPLICA_LAG_WARN_SECONDS is named on the page."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from classroom import replica
from tests.factories import login_client
from tests.test_hours import credit
from tests.test_observability import TOKEN, sample

PG = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def use_replica(app, url: str) -> list[str]:
    """Point the app's replica at ``url``; returns the statements the replica runs (filled as they run)."""
    app.config.update(REPLICA_DATABASE_URL=url, METRICS_TOKEN=TOKEN)
    replica.init_app(app)
    statements: list[str] = []
    event.listen(app.extensions[replica.EXTENSION].engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_rest: statements.append(statement))
    return statements


def report(app, tree, make_user, make_admin) -> tuple:
    credit(make_user(union=tree.a1), 90)
    client = login_client(app, make_admin(tree.city))
    page = client.get(f"/reports/hours?union={tree.city.id}")
    exported = client.get(f"/reports/hours?union={tree.city.id}&format=csv")
    return client, page, exported


def test_without_a_replica_reports_read_the_primary_and_say_nothing(app, tree, make_user, make_admin):
    _client, page, exported = report(app, tree, make_user, make_admin)
    assert page.status_code == 200 and "data-replica-notice" not in page.get_data(as_text=True)
    assert exported.status_code == 200 and "市总工会,2.0,1,1" in exported.get_data(as_text=True)


@PG
def test_the_report_reads_from_the_replica(app, tree, make_user, make_admin, database_url):
    statements = use_replica(app, database_url)  # the same server: a replica with no lag
    client, page, exported = report(app, tree, make_user, make_admin)
    assert page.status_code == 200 and "data-replica-notice" not in page.get_data(as_text=True)
    assert any("hours" in statement for statement in statements), statements  # the report's queries ran there
    assert "市总工会,2.0,1,1" in exported.get_data(as_text=True)
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert sample(metrics, "classroom_replica_up") == 1 and sample(metrics, "classroom_replica_lag_seconds") == 0


@PG
def test_a_dead_replica_falls_back_to_the_primary_and_the_page_says_so(app, tree, make_user, make_admin,
                                                                         database_url):
    dead = make_url(database_url).set(port=1).render_as_string(hide_password=False)
    statements = use_replica(app, dead)
    client, page, exported = report(app, tree, make_user, make_admin)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "read from the main database" in text and "data-replica-notice" in text
    assert exported.status_code == 200 and "市总工会,2.0,1,1" in exported.get_data(as_text=True)
    assert statements == []
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert sample(metrics, "classroom_replica_up") == 0 and sample(metrics, "classroom_replica_lag_seconds") is None


@PG
def test_a_lagging_replica_is_named_on_the_page(app, tree, make_user, make_admin, database_url, monkeypatch):
    use_replica(app, database_url)
    monkeypatch.setattr(replica, "LAG_SQL", "SELECT 42.4")  # what pg_last_xact_replay_timestamp() would say
    _client, page, _exported = report(app, tree, make_user, make_admin)
    assert "up to 42 seconds behind" in page.get_data(as_text=True)

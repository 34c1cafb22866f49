"""The Redis-checked log-in cache: a repeat request reads nothing from the database, and every
change to a person's account, roles, sessions or bell reaches every process at its next request."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import flask
import pytest
import redis
from sqlalchemy import String, literal, null, select, text, update
from sqlalchemy.orm import Session

from classroom import create_app
from classroom.accounts.models import Role, RoleGrant, User
from classroom.accounts.services import set_account_active
from classroom.accounts.session_cache import attach, session_user
from classroom.database import UTCDateTime, utcnow
from classroom.extensions import db
from classroom.notifications.services import mark_read, notify, notify_many
from classroom.unions.models import TradeUnion
from classroom.unions.roles import grant_role, revoke_role
from classroom.unions.tree import rename_union
from courses.reminders.bulk import notify_from
from tests.conftest import Client, auth_cache_settings
from tests.factories import login_client
from tests.helpers import redis_commands, sql_statements


@pytest.fixture
def app_config():
    return auth_cache_settings(CATALOGUE_CACHE_SECONDS=60)


def second_process(app, **changes):
    """Another app on the same database and Redis, as another gunicorn worker would be (``changes``: settings
    of its own)."""
    keep = ("DATABASE_URL", "AUTH_CACHE_URL", "AUTH_CACHE_PREFIX", "AUTH_CACHE_SECONDS", "WTF_CSRF_ENABLED",
            "UPLOAD_FOLDER", "CATALOGUE_CACHE_SECONDS", "SERVER_NAME", "RATELIMIT_STORAGE_URL", "RATELIMIT_KEY_PREFIX",
            "API_RATE_LIMIT")
    other = create_app("testing", **{**{name: app.config[name] for name in keep if name in app.config}, **changes})
    other.test_client_class = Client
    return other


def served_from_a_copy(app, client, path="/me") -> None:
    """Warm ``client``'s copy in ``app`` and check that a request is served from it."""
    for _ in range(2):
        assert client.get(path).status_code == 200
    with sql_statements(app) as seen:
        assert client.get(path).status_code == 200
    assert not any("login_session" in statement for statement in seen), seen


def bell(page: str) -> str | None:
    marker = 'data-unread="'
    return page.split(marker, 1)[1].split('"', 1)[0] if marker in page else None


def test_a_repeat_request_reads_nothing_from_the_database(app, make_user, tree):
    user = make_user("缓存用户", union=tree.a1)
    client = login_client(app, user)
    assert client.get("/courses/").status_code == 200  # the list is rendered and cached once
    with sql_statements(app) as seen:
        page = client.get("/courses/").get_data(as_text=True)
    assert seen == []
    assert "缓存用户" in page  # who is logged in is still shown


def test_logout_refuses_the_old_cookie_in_every_process(app, make_user, tree):
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    cookie = client.get_cookie("classroom_session").value
    other = second_process(app)
    replay = other.test_client()
    replay.set_cookie("classroom_session", cookie)
    served_from_a_copy(other, replay)  # the other process learns the owner, then copies
    assert client.post("/auth/logout").status_code == 302
    assert replay.get("/me").status_code == 302  # ended everywhere at the next request


def test_disabling_reaches_a_warm_copy_in_another_process(app, make_user, tree, site_admin):
    user = make_user(union=tree.a1)
    other = second_process(app)
    worker = login_client(other, user)
    served_from_a_copy(other, worker)
    set_account_active(db.session.get(User, user.id), False, actor=site_admin, now=utcnow())
    db.session.commit()
    assert worker.get("/me").status_code == 302




def test_the_account_flag_alone_is_noticed(app, make_user, tree):
    """Only ``User.is_active`` changes (no session is ended): still refused at the next request."""
    user = make_user(union=tree.a1)
    other = second_process(app)
    worker = login_client(other, user)
    served_from_a_copy(other, worker)
    db.session.get(User, user.id).is_active = False
    db.session.commit()
    assert worker.get("/me").status_code == 302


def test_a_profile_change_shows_at_once(app, make_user, tree):
    user = make_user("旧名字", union=tree.a1)
    other = second_process(app)
    worker = login_client(other, user)
    served_from_a_copy(other, worker)
    db.session.get(User, user.id).real_name = "改过的名字"
    db.session.commit()
    assert "改过的名字" in worker.get("/me").get_data(as_text=True)


@pytest.mark.parametrize("bulk", [False, True], ids=["revoke_role", "bulk-delete"])
def test_a_revoked_role_takes_effect_at_once(app, make_user, tree, site_admin, bulk):
    admin = make_user("区管理员", union=tree.a1, role=(Role.UNION_ADMIN, tree.district_a))
    other = second_process(app)
    client = login_client(other, admin)
    page = f"/unions/{tree.district_a.id}/members"
    served_from_a_copy(other, client, page)
    if bulk:
        db.session.query(RoleGrant).filter_by(user_id=admin.id).delete()  # names no one: everyone is restamped
    else:
        revoke_role(db.session.scalar(select(RoleGrant).filter_by(user_id=admin.id)), actor=site_admin)
    db.session.commit()
    assert client.get(page).status_code in (403, 404)


def test_a_load_after_the_request_read_the_database_is_not_copied(app, make_user, tree):
    """current_user first read after the view queried: the session may hold the user's rows from
    before a change that has new stamps already. Such a load answers this request but is not copied."""
    admin = make_user("区管理员", union=tree.a1, role=(Role.UNION_ADMIN, tree.district_a))
    other = second_process(app)
    client = login_client(other, admin)
    cookie = client.get_cookie("classroom_session").value
    with other.test_request_context("/", headers={"Cookie": f"classroom_session={cookie}"}):
        token = flask.session["_user_id"]
        assert [grant.role for grant in db.session.get(User, admin.id).grants] == [Role.UNION_ADMIN]
        # another process takes the role away meanwhile (on SQLite its write takes the lock first, as one would)
        with Session(db.engine.execution_options(sqlite_immediate=True)) as elsewhere:
            elsewhere.delete(elsewhere.scalar(select(RoleGrant).filter_by(user_id=admin.id)))
            elsewhere.commit()
        session_user(token, now=utcnow(), touch_after=timedelta(minutes=5))
        db.session.rollback()
    assert client.get(f"/unions/{tree.district_a.id}/members").status_code in (403, 404)


def test_a_granted_role_takes_effect_at_once(app, make_user, tree, site_admin):
    user = make_user(union=tree.a1)
    other = second_process(app)
    client = login_client(other, user)
    page = f"/unions/{tree.district_a.id}/members"
    served_from_a_copy(other, client)
    assert client.get(page).status_code in (403, 404)
    grant_role(db.session.get(User, user.id), Role.UNION_ADMIN, tree.district_a, actor=site_admin)
    db.session.commit()
    assert client.get(page).status_code == 200


def test_unions_are_never_served_from_a_copy(app, make_user, tree, site_admin):
    """A renamed (or moved) union is read fresh, though the admin's copy holds their grants."""
    admin = make_user("区管理员", union=tree.a1, role=(Role.UNION_ADMIN, tree.district_a))
    other = second_process(app)
    client = login_client(other, admin)
    page = f"/unions/{tree.district_a.id}"
    served_from_a_copy(other, client, page)
    rename_union(db.session.get(TradeUnion, tree.district_a.id), "新东城区总工会", employer=None, actor=site_admin)
    db.session.commit()
    assert "新东城区总工会" in client.get(page).get_data(as_text=True)


def test_a_rolled_back_savepoint_keeps_the_rest_of_the_transaction_stamped(app, make_user, tree):
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    served_from_a_copy(app, client, "/courses/")
    notify(db.session.get(User, user.id), "test", "kept", "kept", now=utcnow())
    savepoint = db.session.begin_nested()
    notify(db.session.get(User, user.id), "test", "undone", "undone", now=utcnow())
    savepoint.rollback()
    db.session.commit()
    assert bell(client.get("/courses/").get_data(as_text=True)) == "1"


def test_a_process_that_cannot_stamp_drops_its_own_copies(app, make_user, tree, monkeypatch):
    user = make_user("旧名字", union=tree.a1)
    client = login_client(app, user)
    served_from_a_copy(app, client)
    cache = app.extensions["auth_cache"]

    def unreachable(*_args, **_kwargs):
        raise redis.ConnectionError("Redis is away")

    monkeypatch.setattr(cache.redis, "pipeline", unreachable)
    db.session.get(User, user.id).real_name = "新名字"
    db.session.commit()  # the stamp cannot be written
    monkeypatch.undo()
    assert "新名字" in client.get("/me").get_data(as_text=True)


def test_a_redis_restart_with_old_stamps_drops_every_copy(app, make_user, tree):
    """A Redis that saved to disk comes back with the stamps of before: a copy made under them must
    not be trusted again. Every new connection drops the process's copies."""
    user = make_user(union=tree.a1)
    other = second_process(app)
    worker = login_client(other, user)
    served_from_a_copy(other, worker)
    store = redis.Redis.from_url(app.config["AUTH_CACHE_URL"])
    keys = store.keys(app.config["AUTH_CACHE_PREFIX"] + "*")
    saved = {key: store.get(key) for key in keys}
    db.session.get(User, user.id).is_active = False
    db.session.commit()
    for key, value in saved.items():  # the restart restores the old stamps...
        store.set(key, value)
    cache = other.extensions["auth_cache"]
    assert cache.run_id == store.info("server")["run_id"]
    cache.run_id = "the-server-before-the-restart"  # ...under a new run id...
    cache.redis.connection_pool.disconnect()  # ...and drops every connection
    assert worker.get("/me").status_code == 302


def test_a_reconnect_to_the_same_server_keeps_the_copies(app, make_user, tree):
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    served_from_a_copy(app, client)
    app.extensions["auth_cache"].redis.connection_pool.disconnect()
    with sql_statements(app) as seen:
        assert client.get("/me").status_code == 200
    assert not any("login_session" in statement for statement in seen)


def test_requests_get_their_own_json_values(app, make_user, tree):
    user = make_user(union=tree.a1, notification_prefs={"quiet": "22:00-07:00"})
    client = login_client(app, user)
    served_from_a_copy(app, client)
    cache = app.extensions["auth_cache"]
    snapshot = next(iter(cache._snapshots.values()))
    with app.test_request_context():
        first = attach(snapshot, db.session, "token")
        first.notification_prefs["quiet"] = "changed in place"
    with app.test_request_context():
        db.session.remove()
        second = attach(snapshot, db.session, "token")
        assert second.notification_prefs == {"quiet": "22:00-07:00"}
    assert snapshot.user.notification_prefs == {"quiet": "22:00-07:00"}


def test_the_bell_follows_new_and_read_notifications(app, make_user, tree):
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    assert bell(client.get("/courses/").get_data(as_text=True)) is None
    notify(user, "test", "bell-1", "one", now=utcnow())
    db.session.commit()
    assert bell(client.get("/courses/").get_data(as_text=True)) == "1"
    notify_many([user], "test", "bell-many", "two", now=utcnow())
    db.session.commit()
    assert bell(client.get("/courses/").get_data(as_text=True)) == "2"
    rows = select(User.id, literal("test"), literal("bell-scan"), literal("three"), literal(""),
                  null().cast(String), null().cast(UTCDateTime())).where(User.id == user.id)
    assert notify_from(rows, "test", now=utcnow()) == 1
    db.session.commit()
    assert bell(client.get("/courses/").get_data(as_text=True)) == "3"  # a set-based scan names no one
    mark_read(user.id, now=utcnow())
    db.session.commit()
    assert bell(client.get("/courses/").get_data(as_text=True)) is None


def test_a_bulk_update_of_people_restamps_everyone(app, make_user, tree):
    user = make_user("旧名字", union=tree.a1)
    client = login_client(app, user)
    assert "旧名字" in client.get("/courses/").get_data(as_text=True)
    db.session.execute(update(User).where(User.id == user.id).values(real_name="新名字"))
    db.session.commit()
    assert "新名字" in client.get("/courses/").get_data(as_text=True)


def test_lost_stamps_mean_a_fresh_load(app, make_user, tree):
    """Redis restarted (or evicted the keys): no copy is trusted, even for a change that bypassed
    the app (here raw SQL on its own connection)."""
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    for _ in range(2):
        assert client.get("/me").status_code == 200
    store = redis.Redis.from_url(app.config["AUTH_CACHE_URL"])
    keys = store.keys(app.config["AUTH_CACHE_PREFIX"] + "*")
    assert keys
    store.delete(*keys)
    with db.engine.begin() as connection:
        connection.execute(text('UPDATE "user" SET is_active = false WHERE id = :id'), {"id": user.id})
    assert client.get("/me").status_code == 302


@pytest.mark.parametrize("app_config", [{"AUTH_CACHE_URL": "redis://127.0.0.1:1/0"}])
def test_without_redis_the_database_answers(app, make_user, tree, site_admin):
    """Redis unreachable: every request loads from the database, so nothing is served stale."""
    user = make_user("无缓存", union=tree.a1)
    client = login_client(app, user)
    for _ in range(2):
        assert "无缓存" in client.get("/me").get_data(as_text=True)
    set_account_active(db.session.get(User, user.id), False, actor=site_admin, now=utcnow())
    db.session.commit()
    assert client.get("/me").status_code == 302
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["auth_cache"] == "unreachable"


def test_healthz_reports_the_cache(client):
    assert client.get("/healthz").json["auth_cache"] == "ok"


def test_a_change_outside_the_app_lives_no_longer_than_the_copy(app, make_user, tree, monkeypatch):
    """The bound for what nobody announced (a hand-made SQL change): AUTH_CACHE_SECONDS. (The cache's
    clock is moved on rather than waited for, so a slow machine cannot age the copy early.)"""
    from classroom.accounts import session_cache

    seconds = app.extensions["auth_cache"].seconds
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    client.get("/me")  # the copy is made
    with db.engine.begin() as connection:
        connection.execute(text('UPDATE "user" SET is_active = false WHERE id = :id'), {"id": user.id})
    assert client.get("/me").status_code == 200  # nobody announced it: the copy still answers...
    later = time.monotonic() + seconds + 1
    monkeypatch.setattr(session_cache, "time", type("Clock", (), {"monotonic": staticmethod(lambda: later)}))
    assert client.get("/me").status_code == 302  # ...until it is AUTH_CACHE_SECONDS old


def test_the_last_seen_touch_still_happens(app, make_user, tree):
    """A copy lives no longer than the session's next last-seen touch, so the touch still happens."""
    app.config["LOGIN_SESSION_TOUCH_SECONDS"] = 3  # the log-in and three requests fit in it on a busy machine
    user = make_user(union=tree.a1)
    client = login_client(app, user)
    served_from_a_copy(app, client)
    with db.engine.begin() as connection:
        first = connection.execute(text("SELECT last_seen_at FROM login_session")).scalar()
    time.sleep(3.1)
    client.get("/me")
    with db.engine.begin() as connection:
        second = connection.execute(text("SELECT last_seen_at FROM login_session")).scalar()
    assert second > first


def test_threads_share_one_copy_safely(app, make_user, tree):
    user = make_user("并发用户", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1))
    client = login_client(app, user)
    cookie = client.get_cookie("classroom_session").value
    client.get("/courses/")
    failures = []

    def hammer():
        own = app.test_client()
        own.set_cookie("classroom_session", cookie)
        for _ in range(25):
            response = own.get("/courses/")
            page = response.get_data(as_text=True)
            if response.status_code != 200 or "并发用户" not in page or "/teach/" not in page:
                failures.append(response.status_code)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    with sql_statements(app) as seen:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert sum("login_session" in statement for statement in seen) == 0  # the copy served every request


def test_stamps_are_read_with_one_command_and_made_only_when_missing(app, monkeypatch):
    """A load reads the person's and everyone's stamps first (one MGET: they mostly exist); only a missing one
    is created (SET NX), and an existing stamp is never replaced by it."""
    from classroom.accounts.session_cache import cache_for

    cache = cache_for(app)
    store = redis.Redis.from_url(app.config["AUTH_CACHE_URL"])
    everyone, person = cache._keys(424242)
    store.delete(everyone, person)
    made = cache.ensure_stamps(424242)
    assert made is not None and made == (store.get(everyone), store.get(person))
    with redis_commands(monkeypatch) as sent:
        assert cache.ensure_stamps(424242) == made
    assert [command[0] for command in sent] == ["MGET"]
    store.delete(person)
    again = cache.ensure_stamps(424242)
    assert again is not None and again[0] == made[0] and again[1] != made[1]

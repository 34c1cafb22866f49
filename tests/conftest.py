"""Test rig: a function-scoped app on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL,
factory fixtures, an auth helper, and a guard against real network and SMTP."""

from __future__ import annotations

import contextvars
import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_migrate import stamp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from classroom import create_app
from classroom.database import dispose
from classroom.extensions import db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL or IN_CI else [])
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}  # noqa: S104

pytest_plugins = ["tests.factories", "tests.html_validation"]  # the second checks every page rendered


# ---- no real network --------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Only loopback connections; no real SMTP server is ever reached from a test."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in LOOPBACK:
            raise OSError(f"tests may not reach the network ({host})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


# ---- Redis ---------------------------------------------------------------------------------

def redis_url_or_skip() -> str:
    """TEST_REDIS_URL; without it a test skips, except under CI=true where that is a failure."""
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("CI=true but TEST_REDIS_URL is not set")
        pytest.skip("needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    return REDIS_URL


def auth_cache_settings(**extra) -> dict:
    """Settings for the Redis-checked log-in cache, under a key prefix of this test's own."""
    return {"AUTH_CACHE_URL": redis_url_or_skip(), "AUTH_CACHE_PREFIX": f"test:{uuid.uuid4().hex}:", **extra}


# ---- databases ------------------------------------------------------------------------

def _build_schema(app) -> None:
    """Create the tables from the models and stamp the migration head (the migrations
    themselves are checked against the models by test_migrations)."""
    with app.app_context():
        db.create_all()
        stamp(directory=app.extensions["migrate"].directory, revision="head")
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the schema, copied for each test (faster than creating tables)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    app = create_app("testing", DATABASE_URL=f"sqlite:///{path}")
    _build_schema(app)
    return path


@pytest.fixture(scope="session")
def postgres_url(worker_id) -> str:
    """A database of this test session's own on the PostgreSQL server, dropped at the end."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    admin_url = make_url(PG_URL)
    name = f"classroom_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {admin_url.host} is unreachable: {error}")
        pytest.skip(f"PostgreSQL at {admin_url.host} is unreachable: {error}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    _build_schema(create_app("testing", DATABASE_URL=url))
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url")


def _truncate_all(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        dispose(db.engine)


@pytest.fixture
def app_config() -> dict:
    """Settings a test module may override (e.g. to turn CSRF back on)."""
    return {}


@pytest.fixture
def app(database_url, app_config, tmp_path):
    """A fresh app on a fresh database, with an app context pushed for the test body. The test
    body reads English (services' messages); requests choose their language as in production."""
    settings = {"DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False, "SERVER_NAME": None,
                "UPLOAD_FOLDER": str(tmp_path / "uploads"), **app_config}
    application = create_app("testing", **settings)
    application.test_client_class = Client
    context = application.app_context()
    context.push()
    with force_locale("en"):
        yield application
    db.session.remove()
    context.pop()
    if database_url.startswith("postgresql"):
        _truncate_all(application)
    else:
        with application.app_context():
            db.engine.dispose()


class Client(FlaskClient):
    """A test client whose requests run as in production, each in its own app context
    (an empty contextvars context), never sharing the test body's session or ``g``. The test
    body's session is committed first, so the request sees what the test set up and the test
    reads fresh data afterwards."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Tests read English; test_i18n and the browser tests check Chinese explicitly.
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def open(self, *args, **kwargs):
        if has_app_context():  # not in a thread of a concurrency test
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()

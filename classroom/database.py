"""The declarative base, column types and database session helpers."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry, scoped_session
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, so naive values read back are UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITES_FLAG = "sqlite_writes"  # on ``g``: this request or job may write


class DeferredWrite(RuntimeError):
    """A SQLite transaction that began as a reader tried to write (see ``begin_write``)."""


def may_write() -> bool:
    """Whether the current request or job may write: every transaction it opens on SQLite then takes
    the write lock when it begins (BEGIN IMMEDIATE), so it waits its turn instead of failing."""
    return has_app_context() and bool(g.get(WRITES_FLAG))


def writes_ahead() -> None:
    """Mark the current app context (a request or a scheduled job) as one that may write."""
    g.setdefault(WRITES_FLAG, True)


def writes(view):
    """Mark a GET view that writes (an audit row, a first visit's record): on SQLite its transactions
    take the write lock as they begin. Put it right below the route decorator."""
    setattr(view, WRITES_FLAG, True)
    return view


def init_app(app) -> None:
    """Requests that change state (POST, PUT, PATCH, DELETE), and views marked ``writes``, may write:
    on SQLite their transactions begin IMMEDIATE. Other code that writes in a GET calls ``begin_write``."""
    app.before_request(_mark_unsafe_requests)
    app.teardown_request(_clear_write_mark)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        configure_engine(engine, strict=bool(app.config.get("SQLITE_STRICT_WRITES")))


def _mark_unsafe_requests() -> None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if request.method not in SAFE_METHODS or getattr(view, WRITES_FLAG, False):
        writes_ahead()


def _clear_write_mark(_error=None) -> None:
    g.pop(WRITES_FLAG, None)


def configure_engine(engine: Engine, *, strict: bool = False) -> None:
    """SQLite: WAL, a busy timeout, foreign keys, and our own BEGIN: IMMEDIATE where the work may write
    (see ``may_write`` and ``begin_write``), deferred elsewhere. Under WAL a deferred transaction that has
    read and then writes fails at once ("database is locked") when another writer committed meanwhile;
    the busy timeout never helps it. Such a write is logged, and refused outright when ``strict``
    (the tests), so every path that writes is found to take the lock first."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate") or may_write()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info["sqlite_reader"] = None if immediate else False  # False: deferred, nothing read yet

    @event.listens_for(engine, "before_cursor_execute")
    def _watch_deferred(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        state = connection.info.get("sqlite_reader")
        if state is None:
            return
        kind = statement_kind(statement)
        if kind == "read":
            connection.info["sqlite_reader"] = True
        elif kind == "write":
            if state and has_request_context():  # (a test's body or a CLI command runs alone: let it be)
                _deferred_write(statement, strict=strict)
            connection.info["sqlite_reader"] = None  # it holds the write lock now

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_over(connection) -> None:
        connection.info.pop("sqlite_reader", None)


def statement_kind(statement: str) -> str | None:
    """"read", "write" or None (BEGIN, SAVEPOINT, RELEASE …) for one SQL statement."""
    head = statement.lstrip()[:10].upper()
    if head.startswith(WRITE_STATEMENTS):
        return "write"
    if head.startswith("WITH"):
        return "write" if any(f" {word} " in statement.upper() for word in WRITE_STATEMENTS[:3]) else "read"
    return "read" if head.startswith(("SELECT", "PRAGMA", "VALUES")) else None


def _deferred_write(statement: str, *, strict: bool) -> None:
    message = f"a write after a read in a deferred SQLite transaction (call begin_write first): {statement[:120]}"
    if strict:
        raise DeferredWrite(message)
    log.warning(message)


def begin_write(session) -> None:
    """Start a read-then-write transaction that cannot be overtaken.

    On SQLite the transaction begins with BEGIN IMMEDIATE, taking the write lock before the
    first read. A read-only transaction already open (loading the current user, say) is
    ended first; objects read in it are expired and reload under the lock. PostgreSQL
    needs nothing here: services lock rows or use conditional updates.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if session.connection().get_execution_options().get("sqlite_immediate"):
            return
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called after unflushed changes")
        session.rollback()
    session.connection(execution_options={"sqlite_immediate": True})


def dialect_insert(session) -> Any:
    """The INSERT construct with ON CONFLICT of the session's database (PostgreSQL's or SQLite's)."""
    return pg_insert if is_postgresql(session) else sqlite_insert


def is_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def forget_inherited_connections(app) -> None:
    """In a process just forked from one that had connected (gunicorn --preload, a queue worker's job):
    drop the pooled connections without closing them (they belong to the parent), so this process opens
    its own (SQLAlchemy's documented way: Engine.dispose(close=False))."""
    with app.app_context():
        dispose(app.extensions["sqlalchemy"].engine, close=False)



_AUTOCOMMIT: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()  # each engine's autocommit twin, made once


def read_now(session, statement: Any, parameters: dict[str, Any]) -> Any:
    """The first row (or None) of a read-only statement that needs no consistency with the request's other reads.
    On PostgreSQL it runs on a connection of its own in autocommit: no BEGIN and ROLLBACK round trips, and the
    statement stays prepared after its first few runs (psycopg forgets its prepared statements at every
    ROLLBACK, and one ends every request's transaction). Elsewhere in ``session``'s transaction."""
    if isinstance(session, scoped_session):
        session = session()
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        return session.connection().execute(statement, parameters).first()
    return _first_alone(engine, statement, parameters)


def write_alone(engine: Engine, session: Any, statement: Any, parameters: dict[str, Any]) -> Any:
    """The first row (or None) of one writing statement that stands alone: nothing else of the request commits
    or rolls back with it, and it needs no row the request read before. On PostgreSQL (``engine``) it commits
    by itself, on a connection in autocommit: no session is made for it, no BEGIN and COMMIT round trips, and
    the statement stays prepared after its first few runs (as in ``read_now``). Elsewhere it runs in
    ``session``'s transaction under the write lock (``begin_write``), for the caller to commit."""
    if engine.dialect.name != "postgresql":
        begin_write(session)
        return session.connection().execute(statement, parameters).first()
    return _first_alone(engine, statement, parameters)


def _first_alone(engine: Engine, statement: Any, parameters: dict[str, Any]) -> Any:
    """The first row (or None) of ``statement`` run by itself on ``engine``'s autocommit twin."""
    with _autocommit(engine).connect() as connection:
        return connection.execute(statement, parameters).first()


def _autocommit(engine: Engine) -> Engine:
    """``engine``'s autocommit twin: an engine of its own on the same database whose connections stay in
    autocommit (switching one of ``engine``'s connections for each use and back costs more than the statement
    it runs). Made with no event listener of its own: whoever counts ``engine``'s statements listens to both
    (``statement_engines``)."""
    autocommit = _AUTOCOMMIT.get(engine)
    if autocommit is None:
        autocommit = _AUTOCOMMIT[engine] = create_engine(engine.url, isolation_level="AUTOCOMMIT",
                                                         pool_size=2, pool_recycle=1800)
    return autocommit


def statement_engines(engine: Engine) -> tuple[Engine, ...]:
    """The engines that send ``engine``'s database statements: it, and on PostgreSQL its autocommit twin
    (``read_now``, ``write_alone``): a statement counter listens to each."""
    return (engine, _autocommit(engine)) if engine.dialect.name == "postgresql" else (engine,)


def dispose(engine: Engine, *, close: bool = True) -> None:
    """Drop ``engine``'s pooled connections and its twin's (``close=False`` in a forked process: they are the
    parent's)."""
    engine.dispose(close=close)
    if (twin := _AUTOCOMMIT.get(engine)) is not None:
        twin.dispose(close=close)

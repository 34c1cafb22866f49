"""The read replica (CLASSROOM_REPLICA_DATABASE_URL): reports and exports read from a PostgreSQL streaming
replica, so that a city's reports do not load the database the check-ins write to.

``with reads() as source:`` runs its body's queries (``db.session``) on the replica, when one is configured
and answers; otherwise on the primary, and ``source`` says so (``source.notice`` is what the page shows:
that the replica was down, or how far behind it is when that is more than REPLICA_LAG_WARN_SECONDS).
A replica that failed to answer is not asked again for REPLICA_RETRY_SECONDS. Only read-only pages use
it: writes and read-your-own-writes pages always use the primary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from classroom.extensions import db

log = logging.getLogger("classroom.replica")
EXTENSION = "classroom.replica"
# Seconds behind the primary: 0 when caught up (or not a standby at all); else since the last replayed commit.
LAG_SQL = ("SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
           "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
           "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")


@dataclass
class Replica:
    engine: Engine
    down_until: float = 0.0


@dataclass(frozen=True)
class Source:
    """Where a page's figures were read: "replica" (with its lag) or "primary" (``fell_back``: the replica
    is configured but did not answer)."""

    name: str
    lag_seconds: float | None = None
    fell_back: bool = False

    @property
    def up(self) -> bool:
        return self.name == "replica"

    @property
    def notice(self) -> str | None:
        if self.fell_back:
            return _("The reporting database is not answering: these figures were read from the main database.")
        warn = current_app.config["REPLICA_LAG_WARN_SECONDS"]
        if self.lag_seconds is not None and self.lag_seconds > warn:
            return _("These figures may be up to %(seconds)s seconds behind the latest changes.",
                     seconds=round(self.lag_seconds))
        return None


def _replica() -> Replica | None:
    return current_app.extensions.get(EXTENSION)


def _ask(replica: Replica) -> tuple[Session | None, float | None]:
    """A session on the replica and its lag; (None, None) when it does not answer (then not asked for a while)."""
    if time.monotonic() < replica.down_until:
        return None, None
    session = Session(bind=replica.engine)
    try:
        lag = float(session.scalar(text(LAG_SQL)) or 0)
    except (DBAPIError, SQLAlchemyError, OSError) as error:
        session.close()
        replica.down_until = time.monotonic() + current_app.config["REPLICA_RETRY_SECONDS"]
        log.warning("read replica unavailable, reading from the primary: %s", str(error).splitlines()[0])
        return None, None
    return session, lag


@contextmanager
def reads() -> Iterator[Source]:
    """Run the body's ``db.session`` queries on the replica when it answers, else on the primary."""
    replica = _replica()
    if replica is None:
        yield Source("primary")
        return
    session, lag = _ask(replica)
    if session is None:
        yield Source("primary", fell_back=True)
        return
    sessions = db.session.registry
    primary = sessions()
    sessions.set(cast(Any, session))  # a plain Session bound to the replica (Flask-SQLAlchemy's picks its own engine)
    try:
        yield Source("replica", lag)
    finally:
        sessions.set(primary)
        session.close()


def status() -> Source | None:
    """The replica's state for /metrics (None: no replica configured)."""
    replica = _replica()
    if replica is None:
        return None
    session, lag = _ask(replica)
    if session is None:
        return Source("primary", fell_back=True)
    session.close()
    return Source("replica", lag)


def init_app(app: Flask) -> None:
    url = app.config.get("REPLICA_DATABASE_URL")
    if url:
        timeout = int(app.config["REPLICA_CONNECT_TIMEOUT"])
        args = {"connect_timeout": timeout} if url.startswith("postgresql") else {}
        app.extensions[EXTENSION] = Replica(create_engine(url, pool_pre_ping=True, pool_recycle=1800,
                                                          connect_args=args))

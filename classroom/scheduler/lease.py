"""Who leads: the lease row in the database, and on SQLite an OS lock on a file beside the database.

Each lease call is a transaction of its own and commits: a lease means something only once the other
processes can read it. Only the scheduler's loop (and tests) call these, never a request."""

from __future__ import annotations

import fcntl
import os
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, true, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import SchedulerLease

LEASE_NAME = "scheduler"


def acquire_lease(holder: str, *, seconds: int, now: datetime, force: bool = False) -> bool:
    """Take or renew the lease; True while this holder leads. ``force`` takes it from whoever holds it
    (a holder that already knows it leads: see ``FileLease``)."""
    expires = now + timedelta(seconds=seconds)
    mine = true() if force else or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now)
    taken = cast(CursorResult[Any], db.session.execute(
        update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME, mine)
        .values(holder=holder, expires_at=expires, renewed_at=now)
    )).rowcount
    if not taken and current_holder() is None:
        try:
            db.session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=expires, renewed_at=now))
            db.session.flush()
            taken = 1
        except IntegrityError:  # another process made the row first: it leads
            db.session.rollback()
            return False
    db.session.commit()
    return bool(taken)


def release_lease(holder: str) -> None:
    """Hand the lease back (it lapses at once), so a standby need not wait for it to expire."""
    db.session.execute(update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME,
                                                    SchedulerLease.holder == holder)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def current_holder() -> str | None:
    """The lease row's holder, expired or not; None when there is no row yet."""
    return db.session.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == LEASE_NAME))


def current_leader(now: datetime) -> str | None:
    """Who holds an unexpired lease (read from the database, never from the session's cache)."""
    lease = db.session.execute(select(SchedulerLease.holder, SchedulerLease.expires_at)
                               .where(SchedulerLease.name == LEASE_NAME)).first()
    return lease.holder if lease is not None and lease.expires_at > now else None


class FileLease:
    """Leadership on SQLite: an OS lock on a file beside the database (SQLite lives on one host, so
    every process that may lead shares that file). Holding it costs nothing, no write competes with
    the requests', and the kernel frees it the moment its holder dies. The lease row is written once,
    when leadership begins, so /healthz and ``still_leading`` read the holder as on PostgreSQL."""

    FOREVER = 10 * 365 * 86400  # the row's lease: leadership ends with the lock, not with a clock

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    @classmethod
    def for_engine(cls, engine: Engine) -> FileLease | None:
        """The lock file of a SQLite database file; None for PostgreSQL or an in-memory database."""
        if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
            return None
        return cls(f"{engine.url.database}.scheduler-lock")

    def acquire(self) -> bool:
        """Hold the lock (True), or find another process holding it (False); never blocks."""
        if self.fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self.fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (closing the only descriptor frees it)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def held_elsewhere(self) -> bool:
        """Whether a process (this one included, through another descriptor) holds the lock now."""
        if self.fd is not None:
            return True
        probe = FileLease(self.path)
        if probe.acquire():
            probe.release()
            return False
        return True

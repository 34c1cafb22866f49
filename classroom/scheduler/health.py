"""/healthz's part: whether a scheduler leads somewhere and whether it is this process."""

from __future__ import annotations

from flask import current_app

from classroom.database import utcnow
from classroom.extensions import db
from classroom.scheduler.lease import FileLease, current_leader
from classroom.scheduler.starting import runner_of


def health() -> dict:
    """Whether a scheduler leads and whether it is this process. Never who leads: the holder names a
    host and a process id, which the public has no business reading (the lease row has it)."""
    runner = runner_of(current_app)
    file_lease = FileLease.for_engine(db.engine)
    vacant = file_lease is not None and not file_lease.held_elsewhere()  # its holder died without handing back
    return {"scheduler": {"enabled": current_app.config["SCHEDULER"] == "on" or runner is not None,
                          "leader": bool(runner and runner.leading),
                          "has_leader": not vacant and current_leader(utcnow()) is not None}}

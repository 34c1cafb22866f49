"""Scheduled work of the drills: papers past their deadline are submitted and scored, each exactly once
even when two scheduler processes run the scan at the same moment (``mock.claim``'s conditional UPDATE
waits for the other's row locks, then skips what it submitted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from classroom.extensions import db
from courses.drills import daily, mock
from courses.drills.models import MockAttempt

BATCH = 200


def submit_expired(*, now: datetime) -> int:
    """Submit every open paper whose deadline has passed, a batch per transaction: how many this run did."""
    done = 0
    after = 0
    while True:
        due = list(db.session.scalars(select(MockAttempt.id).where(
            MockAttempt.submitted_at.is_(None), MockAttempt.deadline_at <= now, MockAttempt.id > after)
            .order_by(MockAttempt.id).limit(BATCH)))
        if not due:
            db.session.commit()
            return done
        claimed = mock.claim(due, now=now, auto=True, due_only=True)
        mock.score(claimed, now=now)
        db.session.commit()
        done += len(claimed)
        after = due[-1]


def daily_reminders(*, now: datetime) -> int:
    """每日一练 reminders due now (at most one a person and day): how many are new."""
    made = daily.remind(now=now)
    db.session.commit()
    return made

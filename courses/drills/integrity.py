"""Integrity signals of a round, shown to its organizer and never used to block: how often each entrant
left the page, the time taken per question answered, and pairs of papers sharing the same wrong answers
(an uncommon wrong answer given by both)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from classroom.accounts.models import User
from classroom.domain import Conflict
from classroom.extensions import db
from courses.drills import content
from courses.drills.banks import version_map
from courses.drills.models import MockAnswer, MockAttempt

RARE = 5  # a wrong answer counts towards a pair when at most this many papers share it
PAIR_MINIMUM = 2  # pairs sharing at least this many such answers are listed


@dataclass(frozen=True)
class PaperSignals:
    attempt: MockAttempt
    name: str
    answered: int
    seconds_per_answer: int | None


def note_focus_lost(attempt: MockAttempt, *, now: datetime) -> None:
    """The worker's page lost focus while the paper was open (one counter, one UPDATE)."""
    if attempt.submitted_at is not None or now >= attempt.deadline_at:
        raise Conflict(_l("This paper is closed."))
    db.session.execute(update(MockAttempt).where(MockAttempt.id == attempt.id)
                       .values(focus_lost=MockAttempt.focus_lost + 1))


def papers(exam_id: int) -> list[PaperSignals]:
    """The exam's papers with their signals, best score first (two queries)."""
    rows = db.session.execute(select(MockAttempt, User.real_name).join(User, User.id == MockAttempt.user_id)
                              .where(MockAttempt.exam_id == exam_id)
                              .order_by(MockAttempt.score.desc().nulls_last(), MockAttempt.id).limit(5000)).all()
    answered = {row[0]: row[1] for row in db.session.execute(
        select(MockAnswer.attempt_id, func.count(MockAnswer.id))
        .join(MockAttempt, MockAttempt.id == MockAnswer.attempt_id)
        .where(MockAttempt.exam_id == exam_id).group_by(MockAnswer.attempt_id))}
    signals = []
    for attempt, name in rows:
        count = int(answered.get(attempt.id, 0))
        seconds = ((attempt.submitted_at or attempt.deadline_at) - attempt.started_at).total_seconds()
        signals.append(PaperSignals(attempt, name, count, round(seconds / count) if count else None))
    return signals


def identical_wrong_pairs(exam_id: int) -> list[tuple[int, int, int]]:
    """(attempt id, attempt id, how many uncommon wrong answers they share), most first."""
    saved = db.session.execute(select(MockAnswer.attempt_id, MockAnswer.version_id, MockAnswer.answer)
                               .join(MockAttempt, MockAttempt.id == MockAnswer.attempt_id)
                               .where(MockAttempt.exam_id == exam_id)).all()
    versions = version_map(row[1] for row in saved)
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for attempt_id, version_id, answer in saved:
        version = versions[version_id]
        if answer and not content.is_right(version.kind, version.answer, cast(list[Any], answer)):
            groups[(version_id, json.dumps(answer, ensure_ascii=False))].append(attempt_id)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for attempts in groups.values():
        if 2 <= len(attempts) <= RARE:
            for pair in combinations(sorted(attempts), 2):
                shared[pair] += 1
    return sorted(((a, b, n) for (a, b), n in shared.items() if n >= PAIR_MINIMUM), key=lambda row: (-row[2], row[0]))

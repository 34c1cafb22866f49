"""Online theory rounds: a competition stage taken as a mock exam. Open to the confirmed entrants of the
stage's competition within the stage's window, one paper each (due by the stage's end at the latest),
scored automatically; the score becomes the entry's stage score and the event is ranked again, as typed
scores are. The organizer corrects a score as any other (competitions.results.record_scores, audited)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.unions import scope
from classroom.unions.models import TradeUnion
from courses.competitions.access import can_organize, require_organizer
from courses.competitions.models import (
    Competition,
    CompetitionStatus,
    Entry,
    EntryMember,
    EntryStatus,
    Score,
    Stage,
    StageKind,
)
from courses.competitions.results import rank_event
from courses.drills.models import MockAttempt, MockExam

NOT_ENTERED = _l("This round is for the competition's confirmed entrants.")


def check_stage(stage: Stage, actor: Any) -> None:
    """A stage may take an online round: a theory stage of a competition the actor organizes, without one."""
    require_organizer(actor, stage.competition)
    if stage.kind != StageKind.THEORY:
        raise Invalid(_l("Only a theory round can be taken online."))
    if db.session.scalar(select(MockExam.id).where(MockExam.stage_id == stage.id)) is not None:
        raise Conflict(_l("This round is online already."))


def entry_of(user_id: int, competition_id: int) -> Entry | None:
    """The person's confirmed entry in the competition (as an accepted member of it)."""
    return db.session.scalar(select(Entry).join(EntryMember, and_(EntryMember.entry_id == Entry.id,
                                                                  EntryMember.user_id == user_id,
                                                                  EntryMember.is_active))
                             .where(Entry.competition_id == competition_id, Entry.status == EntryStatus.CONFIRMED)
                             .order_by(Entry.id).limit(1))


def may_see(user: Any, exam: MockExam) -> bool:
    """Entrants see the round; so do its organizers."""
    stage = db.session.get(Stage, exam.stage_id)
    if stage is None:
        return False
    return can_organize(user, stage.competition) or entry_of(user.id, stage.competition_id) is not None


def terms(user: Any, exam: MockExam, *, now: datetime) -> tuple[int, datetime]:
    """(entry id, deadline) of a new paper in a round: Conflict outside the window, for a second paper or
    for someone without a confirmed entry."""
    stage = db.session.get(Stage, exam.stage_id)
    entry = entry_of(user.id, stage.competition_id) if stage else None
    if stage is None or entry is None:
        raise Conflict(NOT_ENTERED)
    if not stage.starts_at <= now < stage.ends_at:
        raise Conflict(_l("The round is open from %(start)s to %(end)s."), start=stage.starts_at.strftime(
            "%Y-%m-%d %H:%M UTC"), end=stage.ends_at.strftime("%Y-%m-%d %H:%M UTC"))
    if db.session.scalar(select(MockAttempt.id).where(MockAttempt.exam_id == exam.id,
                                                      MockAttempt.entry_id == entry.id)) is not None:
        raise Conflict(_l("Your entry has sat this round already."))
    return entry.id, min(now + timedelta(minutes=exam.minutes), stage.ends_at)


def record_scores(attempts: Sequence[MockAttempt], *, now: datetime) -> int:
    """The round papers among ``attempts`` (scored) become their entries' stage scores; each event touched
    is ranked again. Scores of a competition whose results are published stay as they are."""
    papers = [attempt for attempt in attempts if attempt.entry_id is not None and attempt.score is not None]
    if not papers:
        return 0
    stages = {exam.id: exam.stage_id for exam in db.session.scalars(
        select(MockExam).where(MockExam.id.in_({attempt.exam_id for attempt in papers})))}
    entries = {entry.id: entry for entry in db.session.scalars(
        select(Entry).join(Competition, Competition.id == Entry.competition_id)
        .where(Entry.id.in_({attempt.entry_id for attempt in papers}),
               Competition.status == CompetitionStatus.PUBLISHED))}
    existing = {(score.entry_id, score.stage_id): score for score in db.session.scalars(
        select(Score).where(Score.entry_id.in_(list(entries))))}
    for attempt in papers:
        entry, stage_id = entries.get(attempt.entry_id or 0), stages.get(attempt.exam_id)
        if entry is None or stage_id is None:
            continue
        score = existing.get((entry.id, stage_id))
        if score is None:
            db.session.add(Score(entry_id=entry.id, stage_id=stage_id, points=Decimal(attempt.score or 0),
                                 recorded_at=now))
        else:
            score.points, score.recorded_by_id, score.recorded_at = Decimal(attempt.score or 0), None, now
        record_event(None, "drills.round_score", entry, stage_id=stage_id, points=attempt.score, attempt=attempt.id)
    db.session.flush()
    for event in {entry.event for entry in entries.values()}:
        rank_event(event)
    return len(papers)


def my_rounds(user: Any, *, now: datetime) -> list[tuple[MockExam, Stage]]:
    """The online rounds the person may sit now or later (confirmed entrant, stage not over)."""
    rows = db.session.execute(
        select(MockExam, Stage).join(Stage, Stage.id == MockExam.stage_id)
        .join(Entry, and_(Entry.competition_id == Stage.competition_id, Entry.status == EntryStatus.CONFIRMED))
        .join(EntryMember, and_(EntryMember.entry_id == Entry.id, EntryMember.user_id == user.id,
                                EntryMember.is_active))
        .where(Stage.ends_at > now).order_by(Stage.starts_at).limit(20)).all()
    return [(row[0], row[1]) for row in rows]


def organized_stages(user: Any) -> list[tuple[Stage, Competition, int | None]]:
    """(theory stage, competition, its online round's id or None) of the running competitions ``user``
    organizes, soonest first."""
    rows = db.session.execute(
        select(Stage, Competition, MockExam.id).join(Competition, Competition.id == Stage.competition_id)
        .join(TradeUnion, TradeUnion.id == Competition.organizer_union_id)
        .outerjoin(MockExam, MockExam.stage_id == Stage.id)
        .where(Stage.kind == StageKind.THEORY, Competition.status == CompetitionStatus.PUBLISHED,
               scope.managed_unions_clause(user))
        .order_by(Stage.starts_at, Stage.id).limit(50)).all()
    return [(row[0], row[1], row[2]) for row in rows]

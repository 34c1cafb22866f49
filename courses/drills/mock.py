"""Mock exams: a paper drawn per person from a bank by a blueprint (how many of each type, difficulty and
tag), timed on the server, one open attempt per person and exam, answers saved as the worker goes, and
scored once when submitted (by the worker, or by the scheduler at the deadline: ``claim`` is a
conditional UPDATE, so two processes never both score a paper)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, CursorResult, and_, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from classroom.audit import record_event
from classroom.database import begin_write, dialect_insert, write_alone
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from courses.drills import access, content, rounds
from courses.drills.banks import version_map
from courses.drills.content import options_of
from courses.drills.models import DrillQuestion, MockAnswer, MockAttempt, MockExam, QuestionBank, QuestionVersion
from courses.drills.practice import given_answer


class AlreadySubmitted(Conflict):
    message = _l("This paper was submitted already.")


TIME_UP = _l("Time is up: this paper no longer takes answers.")


def candidates(bank_id: int) -> list[tuple[int, str, int, list[str]]]:
    """(current version id, kind, difficulty, tags) of every question of the bank, in one query."""
    rows = db.session.execute(
        select(QuestionVersion.id, DrillQuestion.kind, DrillQuestion.difficulty, DrillQuestion.tags)
        .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                    QuestionVersion.number == DrillQuestion.version))
        .where(DrillQuestion.bank_id == bank_id).order_by(QuestionVersion.id)).all()
    return [(row[0], row[1], row[2], list(row[3] or [])) for row in rows]


def matches(rule: dict[str, Any], kind: str, difficulty: int, tags: list[str]) -> bool:
    return (kind == rule["kind"] and rule.get("difficulty") in (None, difficulty)
            and (not rule.get("tag") or rule["tag"] in tags))


def draw(blueprint: Sequence[dict[str, Any]], pool: list[tuple[int, str, int, list[str]]],
         rng: random.Random) -> list[list[int]]:
    """A paper: for each rule in turn, ``count`` questions drawn at random among those matching it and not
    drawn yet; Conflict when the bank has too few."""
    taken: set[int] = set()
    paper: list[list[int]] = []
    for rule in blueprint:
        fitting = [row[0] for row in pool if row[0] not in taken and matches(rule, row[1], row[2], row[3])]
        if len(fitting) < rule["count"]:
            raise Conflict(_l("The bank has too few questions for this blueprint."))
        chosen = rng.sample(fitting, rule["count"])
        taken.update(chosen)
        paper.extend([version_id, rule.get("points", 1)] for version_id in chosen)
    return paper


def create_exam(bank: QuestionBank, data: dict[str, Any], *, actor: Any, now: datetime) -> MockExam:
    if not access.can_edit(actor, bank):
        raise NotAllowed(_l("You may not change this bank."))
    if not data["blueprint"]:
        raise Invalid(_l("Give at least one rule."), field="blueprint")
    try:
        draw(data["blueprint"], candidates(bank.id), random.Random(0))
    except Conflict as error:
        raise Invalid(error.message, field="blueprint") from None
    if data.get("stage") is not None:
        rounds.check_stage(data["stage"], actor)
    exam = MockExam(bank_id=bank.id, title=data["title"], minutes=data["minutes"], pass_score=data["pass_score"],
                    blueprint=data["blueprint"], stage_id=data["stage"].id if data.get("stage") else None,
                    created_at=now)
    db.session.add(exam)
    db.session.flush()
    record_event(actor, "drills.mock_create", exam, union_id=bank.union_id)
    return exam


def open_attempt(exam_id: int, user_id: int) -> MockAttempt | None:
    return db.session.scalar(select(MockAttempt).where(MockAttempt.exam_id == exam_id, MockAttempt.user_id == user_id,
                                                       MockAttempt.submitted_at.is_(None)))


def start(user: Any, exam: MockExam, *, now: datetime, rng: random.Random | None = None) -> MockAttempt:
    """The person's open attempt (a reload or a second device finds the same paper), else a new paper;
    an open attempt past its deadline is submitted first."""
    begin_write(db.session)
    current = open_attempt(exam.id, user.id)
    if current is not None and current.deadline_at > now:
        return current
    if current is not None:
        submit(current, now=now, auto=True, actor=user)
    entry_id, deadline = rounds.terms(user, exam, now=now) if exam.stage_id else (None, now + timedelta(
        minutes=exam.minutes))
    paper = draw(exam.blueprint, candidates(exam.bank_id), rng or random.SystemRandom())
    attempt = MockAttempt(exam_id=exam.id, user_id=user.id, paper=paper, started_at=now, deadline_at=deadline,
                          entry_id=entry_id)
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:  # a start at the same moment (another tab) opened one: that one
        found = open_attempt(exam.id, user.id)
        if found is None:
            raise
        return found
    return attempt


def save_answers(attempt: MockAttempt, sent: Mapping[int, tuple[Sequence[str], Sequence[str]]], *,
                 now: datetime) -> int:
    """Keep answers of an open paper ({version id: (choices, blanks)}), in one upsert: how many were kept.
    Conflict after the deadline or the submission; answers to questions not on the paper are ignored."""
    if attempt.submitted_at is not None:
        raise AlreadySubmitted()
    if now >= attempt.deadline_at:
        raise Conflict(TIME_UP)
    on_paper = {item[0] for item in attempt.paper}
    versions = version_map(version_id for version_id in sent if version_id in on_paper)
    rows = [{"attempt_id": attempt.id, "version_id": version_id, "saved_at": now,
             "answer": given_answer(version.kind, *sent[version_id])} for version_id, version in versions.items()]
    if rows:
        insert = dialect_insert(db.session)(MockAnswer).values(rows)
        db.session.execute(insert.on_conflict_do_update(
            index_elements=["attempt_id", "version_id"],
            set_={"answer": insert.excluded.answer, "saved_at": insert.excluded.saved_at}))
    return len(rows)


def save_answer(attempt_id: int, version_id: int, given: list[Any], *, now: datetime) -> None:
    """Keep one answer of an open paper (``given`` as ``practice.given_answer`` makes it for the version's
    kind; the caller knows the version is on the paper), in one statement and no read: the hot path of a
    round, where thousands save at once. The upsert takes its row from the paper only while the paper is open
    (not submitted, before its deadline), holding the paper's row against a submission meanwhile
    (PostgreSQL: FOR SHARE; SQLite: the write lock): a submission scores the answer, or the answer is
    refused. On PostgreSQL it commits by itself (``write_alone``: the answer is the request's only change);
    on SQLite the caller commits. Conflict when the paper is closed."""
    engine = db.engine  # (Core: the ORM would take the parameters for a bulk INSERT)
    saved = write_alone(engine, db.session, _save_statement(engine.dialect.name), {
        "attempt_id": attempt_id, "version_id": version_id, "answer": given, "now": now})
    if saved is None:
        closed = db.session.scalar(select(MockAttempt.submitted_at).where(MockAttempt.id == attempt_id))
        raise AlreadySubmitted() if closed is not None else Conflict(TIME_UP)


_SAVES: dict[str, Any] = {}


def _save_statement(dialect: str) -> Any:
    """``save_answer``'s upsert, made once per database kind with bound parameters (a statement made anew
    for each of thousands of saves costs more than the database's work for it)."""
    statement = _SAVES.get(dialect)
    if statement is None:
        now = bindparam("now", type_=MockAnswer.saved_at.type)
        source = select(MockAttempt.id, bindparam("version_id", type_=MockAnswer.version_id.type),
                        bindparam("answer", type_=MockAnswer.answer.type), now).where(
            MockAttempt.id == bindparam("attempt_id"), MockAttempt.submitted_at.is_(None),
            MockAttempt.deadline_at > now)
        insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(MockAnswer).from_select(
            ["attempt_id", "version_id", "answer", "saved_at"], source.with_for_update(read=True))
        statement = _SAVES[dialect] = insert.on_conflict_do_update(
            index_elements=["attempt_id", "version_id"],
            set_={"answer": insert.excluded.answer, "saved_at": insert.excluded.saved_at},
        ).returning(MockAnswer.attempt_id)  # (an INSERT … SELECT's rowcount is not told on PostgreSQL)
    return statement


def claim(attempt_ids: Sequence[int], *, now: datetime, auto: bool, due_only: bool = False) -> list[int]:
    """Mark these open papers submitted, in one conditional UPDATE: the ids this call submitted (a paper
    another transaction submitted first is left out, after that transaction ends)."""
    if not attempt_ids:
        return []
    conditions: list[ColumnElement[bool]] = [MockAttempt.id.in_(list(attempt_ids)), MockAttempt.submitted_at.is_(None)]
    if due_only:
        conditions.append(MockAttempt.deadline_at <= now)
    result = db.session.execute(update(MockAttempt).where(*conditions)
                                .values(submitted_at=now, auto_submitted=auto).returning(MockAttempt.id)
                                .execution_options(synchronize_session=False))
    return [row[0] for row in cast(CursorResult[Any], result)]


def score(attempt_ids: Sequence[int], *, now: datetime, actor: Any = None) -> dict[int, int]:
    """Score claimed papers from their saved answers (three queries for the lot): {attempt id: percent};
    a theory round's scores go on to its competition's results."""
    attempts = list(db.session.scalars(select(MockAttempt).where(MockAttempt.id.in_(list(attempt_ids)))))
    saved: dict[tuple[int, int], list[Any]] = {
        (row[0], row[1]): row[2] for row in db.session.execute(
            select(MockAnswer.attempt_id, MockAnswer.version_id, MockAnswer.answer)
            .where(MockAnswer.attempt_id.in_(list(attempt_ids))))}
    versions = version_map(version_id for attempt in attempts for version_id, _points in attempt.paper)
    scores = {}
    for attempt in attempts:
        total = sum(points for _id, points in attempt.paper)
        earned = sum(points for version_id, points in attempt.paper
                     if content.is_right(versions[version_id].kind, versions[version_id].answer,
                                         saved.get((attempt.id, version_id), [])))
        attempt.score = scores[attempt.id] = (200 * earned + total) // (2 * total) if total else 0
        record_event(actor, "drills.mock_submit", attempt, score=attempt.score, auto=attempt.auto_submitted)
    db.session.flush()
    rounds.record_scores(attempts, now=now)
    return scores


def submit(attempt: MockAttempt, *, now: datetime, auto: bool = False, actor: Any = None) -> int:
    """The worker submits (or a late start closes) one paper: its score; AlreadySubmitted if it was."""
    if not claim([attempt.id], now=now, auto=auto):
        raise AlreadySubmitted()
    db.session.refresh(attempt)
    return score([attempt.id], now=now, actor=actor)[attempt.id]


def seconds_left(attempt: MockAttempt, now: datetime) -> int:
    return max(0, int((attempt.deadline_at - now).total_seconds()))


def save_and_submit(attempt: MockAttempt, sent: Mapping[int, tuple[Sequence[str], Sequence[str]]], *,
                    now: datetime, actor: Any) -> int:
    """The worker's "Submit": what the page holds is saved (while time is left), then the paper is scored."""
    if attempt.submitted_at is None and now < attempt.deadline_at:
        save_answers(attempt, sent, now=now)
    return submit(attempt, now=now, actor=actor)


@dataclass(frozen=True)
class PaperRow:
    number: int
    version: QuestionVersion
    points: int
    options: list[str]
    saved: list[Any]
    right: bool | None  # known once submitted


def paper_rows(attempt: MockAttempt) -> list[PaperRow]:
    """The paper as shown, with what is saved (and, once submitted, whether each answer was right)."""
    saved = {row[0]: row[1] for row in db.session.execute(
        select(MockAnswer.version_id, MockAnswer.answer).where(MockAnswer.attempt_id == attempt.id))}
    versions = version_map(version_id for version_id, _points in attempt.paper)
    done = attempt.submitted_at is not None
    return [PaperRow(number, versions[version_id], points, options_of(versions[version_id].kind,
                                                                        versions[version_id].options),
                     saved.get(version_id, []),
                     content.is_right(versions[version_id].kind, versions[version_id].answer,
                                      saved.get(version_id, [])) if done else None)
            for number, (version_id, points) in enumerate(attempt.paper, 1)]

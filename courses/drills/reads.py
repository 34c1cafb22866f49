"""What the drills' JSON API reads beyond the pages' queries: the statements its cursor pages run over (the
same rules as the pages: ``access`` for banks, ``rounds`` for a person's rounds) and the few look-ups that
give a page's rows their details, one query a page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, func, select

from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.competitions.models import Entry, EntryMember, EntryStatus, Stage
from courses.drills import access
from courses.drills.models import DrillQuestion, Mistake, MockAttempt, MockExam, QuestionBank, QuestionVersion

BANK_ORDER = (QuestionBank.title.expression, QuestionBank.id.expression)
MISTAKE_ORDER = (Mistake.added_at.expression, Mistake.id.expression)
EXAM_ORDER = (MockExam.id.expression,)
ROUND_ORDER = (Stage.starts_at.expression, MockExam.id.expression)


def practisable_banks(user: Any) -> Select:
    """The banks ``user`` may practise (or edits), as the drills page lists them."""
    return (select(QuestionBank).join(TradeUnion, TradeUnion.id == QuestionBank.union_id)
            .where(access.practisable_clause(user)))


def open_mistakes(user_id: int, bank_id: int) -> Select:
    """The person's mistake book in a bank (questions not yet let go)."""
    return select(Mistake).where(Mistake.user_id == user_id, Mistake.bank_id == bank_id, Mistake.cleared_at.is_(None))


def current_versions_of(question_ids: Iterable[int]) -> dict[int, tuple[str, QuestionVersion]]:
    """{question id: (its code, its current version)} of these questions, in one query."""
    ids = list(set(question_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(DrillQuestion.id, DrillQuestion.code, QuestionVersion)
        .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                    QuestionVersion.number == DrillQuestion.version))
        .where(DrillQuestion.id.in_(ids))).all()
    return {row[0]: (row[1], row[2]) for row in rows}


KEPT_KINDS = 100_000


def version_kind(version_id: int) -> str:
    """The kind of a question version, read once per app (a version never changes: an edit makes a new one)."""
    kinds: dict[int, str] = current_app.extensions.setdefault("drills_version_kinds", {})
    kind = kinds.get(version_id)
    if kind is None:
        kind = db.session.scalar(select(QuestionVersion.kind).where(QuestionVersion.id == version_id)) or "single"
        if len(kinds) >= KEPT_KINDS:
            kinds.clear()
        kinds[version_id] = kind
    return kind


@dataclass(frozen=True)
class Sheet:
    """What never changes of a paper once drawn: whose it is, its question versions in order, its deadline."""

    user_id: int
    versions: tuple[int, ...]
    deadline_at: datetime


def sheet(attempt_id: int) -> Sheet | None:
    """A paper's sheet, read once per app (None: no such paper); whether it is still open is the writer's
    to check (``mock.save_answer``)."""
    sheets: dict[int, Sheet] = current_app.extensions.setdefault("drills_sheets", {})
    found = sheets.get(attempt_id)
    if found is None:
        row = db.session.execute(select(MockAttempt.user_id, MockAttempt.paper, MockAttempt.deadline_at)
                                 .where(MockAttempt.id == attempt_id)).first()
        if row is None:
            return None
        found = Sheet(row.user_id, tuple(item[0] for item in row.paper), row.deadline_at)
        if len(sheets) >= KEPT_KINDS:
            sheets.clear()
        sheets[attempt_id] = found
    return found


def bank_exams(bank_id: int) -> Select:
    """The bank's mock exams (competition rounds aside), as the bank's page lists them."""
    return select(MockExam).where(MockExam.bank_id == bank_id, MockExam.stage_id.is_(None))


def my_rounds(user_id: int, now: Any) -> Select:
    """The online rounds the person may sit now or later (``rounds.my_rounds``' rule, as a statement)."""
    return (select(MockExam).join(Stage, Stage.id == MockExam.stage_id)
            .join(Entry, and_(Entry.competition_id == Stage.competition_id, Entry.status == EntryStatus.CONFIRMED))
            .join(EntryMember, and_(EntryMember.entry_id == Entry.id, EntryMember.user_id == user_id,
                                    EntryMember.is_active))
            .where(Stage.ends_at > now))


def stages_of(exams: Iterable[MockExam]) -> dict[int, Stage]:
    """{stage id: stage} of the rounds among ``exams``, in one query."""
    ids = {exam.stage_id for exam in exams if exam.stage_id}
    return {stage.id: stage for stage in db.session.scalars(select(Stage).where(Stage.id.in_(ids)))} if ids else {}


def open_attempts(user_id: int, exam_ids: Iterable[int]) -> dict[int, int]:
    """{exam id: the person's open attempt there} for these exams, in one query."""
    ids = list(set(exam_ids))
    if not ids:
        return {}
    return {row[0]: row[1] for row in db.session.execute(
        select(MockAttempt.exam_id, MockAttempt.id).where(MockAttempt.user_id == user_id,
                                                          MockAttempt.exam_id.in_(ids),
                                                          MockAttempt.submitted_at.is_(None)))}


def best_scores(user_id: int, exam_ids: Iterable[int]) -> dict[int, int]:
    """{exam id: the person's best score there} for these exams, in one query."""
    ids = list(set(exam_ids))
    if not ids:
        return {}
    return {row[0]: int(row[1] or 0) for row in db.session.execute(
        select(MockAttempt.exam_id, func.max(MockAttempt.score)).where(
            MockAttempt.user_id == user_id, MockAttempt.exam_id.in_(ids), MockAttempt.score.is_not(None))
        .group_by(MockAttempt.exam_id))}

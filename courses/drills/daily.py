"""每日一练 (daily practice): a person turns it on for a bank and gets the bank's ``daily_size`` questions a
day, drawn for them alone and kept for the day (their local date: their timezone, Asia/Shanghai by
default), answered in the practice flow with the explanation after each. A day counts once every question
of its set is answered; the streak is the run of such days up to today (or yesterday, while today's set
is still open). The reminder (kind ``drills.daily``, off by default) goes out at most once a person and
day, in the evening, to those who chose it and have a set not done."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, literal, select

from classroom.accounts.models import User
from classroom.database import UTCDateTime, dialect_insert
from classroom.domain import Conflict
from classroom.extensions import db
from classroom.notifications.models import NotificationPreference
from classroom.timefmt import local_date, zone
from courses.drills import practice
from courses.drills.models import DailyPlan, DailySet, DrillQuestion, PracticeAnswer, QuestionBank, QuestionVersion
from courses.reminders.bulk import as_text, localized, notify_from

KIND = "drills.daily"
KIND_LABEL = _l("Daily practice reminders")
STREAK_DAYS = 366  # the longest streak counted (one bounded read)
NOT_TODAY = _l("This question is not among today's questions: draw today's set and answer one of it.")


def today_of(user: Any, now: datetime) -> date:
    """The person's calendar day at ``now`` (their timezone)."""
    return local_date(now, zone(getattr(user, "timezone", None)))


def turn_on(user: Any, bank: QuestionBank, *, now: datetime) -> None:
    statement = dialect_insert(db.session)(DailyPlan).values(user_id=user.id, bank_id=bank.id, created_at=now)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "bank_id"]))


def turn_off(user: Any, bank: QuestionBank) -> None:
    found = db.session.scalar(select(DailyPlan).filter_by(user_id=user.id, bank_id=bank.id))
    if found is not None:
        db.session.delete(found)


def is_on(user_id: int, bank_id: int) -> bool:
    return db.session.scalar(select(DailyPlan.id).filter_by(user_id=user_id, bank_id=bank_id)) is not None


def draw(user_id: int, bank_id: int, day: date, size: int, pool: list[int]) -> list[int]:
    """The day's questions for this person: the same for them all day, other people's differ (a seed of
    the person, the bank and the day, stable across processes)."""
    digest = hashlib.sha256(f"{user_id}:{bank_id}:{day.isoformat()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).sample(sorted(pool), min(size, len(pool)))


def todays_set(user: Any, bank: QuestionBank, *, now: datetime) -> DailySet | None:
    day = today_of(user, now)
    return db.session.scalar(select(DailySet).filter_by(user_id=user.id, bank_id=bank.id, day=day))


def start(user: Any, bank: QuestionBank, *, now: datetime) -> DailySet:
    """Today's set, drawn on first asking (two requests at once keep the first)."""
    found = todays_set(user, bank, now=now)
    if found is not None:
        return found
    pool = list(db.session.scalars(select(DrillQuestion.id).where(DrillQuestion.bank_id == bank.id)))
    if not pool:
        raise Conflict(_l("This bank has no questions yet."))
    day = today_of(user, now)
    statement = dialect_insert(db.session)(DailySet).values(
        user_id=user.id, bank_id=bank.id, day=day, questions=draw(user.id, bank.id, day, bank.daily_size, pool),
        answered=[], created_at=now)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "bank_id", "day"]))
    return db.session.scalars(select(DailySet).filter_by(user_id=user.id, bank_id=bank.id, day=day)).one()


def next_question(user: Any, bank: QuestionBank, *, now: datetime) -> tuple[DrillQuestion, QuestionVersion] | None:
    """The first question of today's set not answered yet (None when the set is done or not started)."""
    found = todays_set(user, bank, now=now)
    waiting = [question_id for question_id in found.questions if question_id not in found.answered] if found else []
    return next(iter(set_questions(waiting)), None)


def set_questions(question_ids: list[int]) -> list[tuple[DrillQuestion, QuestionVersion]]:
    """These questions of a set with their current versions, in the set's order (one query; none if empty)."""
    if not question_ids:
        return []
    row = db.session.execute(
        select(DrillQuestion, QuestionVersion)
        .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                    QuestionVersion.number == DrillQuestion.version))
        .where(DrillQuestion.id.in_(question_ids))).all()
    by_id = {question.id: (question, version) for question, version in row}
    return [by_id[question_id] for question_id in question_ids if question_id in by_id]


def answer(user: Any, bank: QuestionBank, version: QuestionVersion, given: list[Any], *,
           now: datetime) -> PracticeAnswer:
    """An answer to a question of today's set, as the practice page scores it in its daily mode
    (``practice.answer``, then ``note_answer``); Conflict for a question not in today's set (or before
    today's set is drawn)."""
    found = todays_set(user, bank, now=now)
    if found is None or version.question_id not in found.questions:
        raise Conflict(NOT_TODAY)
    record = practice.answer(user, bank, version, given, now=now)
    note_answer(user, bank, version.question_id, now=now)
    return record


def note_answer(user: Any, bank: QuestionBank, question_id: int, *, now: datetime) -> bool:
    """An answer to a question of today's set: noted; the set is done once all are. Whether it was."""
    found = db.session.scalar(select(DailySet).filter_by(user_id=user.id, bank_id=bank.id, day=today_of(user, now))
                              .with_for_update())
    if found is None or question_id not in found.questions:
        return False
    if question_id not in found.answered:
        found.answered = [*found.answered, question_id]
    if found.completed_at is None and set(found.questions) <= set(found.answered):
        found.completed_at = now
    return found.completed_at is not None


@dataclass(frozen=True)
class Streak:
    days: int  # consecutive days done, up to today (or yesterday while today's set is open)
    done_today: bool


def streak_of(days_done: Iterable[date], today: date) -> Streak:
    done = set(days_done)
    day = today if today in done else today - timedelta(days=1)
    count = 0
    while day - timedelta(days=count) in done:
        count += 1
    return Streak(count, today in done)


def streaks(user: Any, *, now: datetime, bank_id: int | None = None) -> dict[int, Streak]:
    """{bank id: streak} of the banks the person has daily practice on (or of ``bank_id``), two queries."""
    plans = select(DailyPlan.bank_id).where(DailyPlan.user_id == user.id)
    banks = list(db.session.scalars(plans.where(DailyPlan.bank_id == bank_id) if bank_id else plans))
    if not banks:
        return {}
    today = today_of(user, now)
    rows = db.session.execute(select(DailySet.bank_id, DailySet.day).where(
        DailySet.user_id == user.id, DailySet.bank_id.in_(banks), DailySet.completed_at.is_not(None),
        DailySet.day > today - timedelta(days=STREAK_DAYS))).all()
    days: dict[int, list[date]] = {bank: [] for bank in banks}
    for bank, day in rows:
        days[bank].append(day)
    return {bank: streak_of(done, today) for bank, done in days.items()}


def remind(*, now: datetime) -> int:
    """From the evening hour of each timezone on: one reminder a person and day to those who chose the
    kind and have daily practice on a bank whose set of today is not done. The query runs once per
    timezone of the people with plans (a handful), each a set-based INSERT … SELECT under unique keys."""
    hour = int(current_app.config.get("DRILL_DAILY_REMINDER_HOUR", 19))
    made = 0
    for name in db.session.scalars(select(User.timezone).join(DailyPlan, DailyPlan.user_id == User.id).distinct()):
        local = now.astimezone(zone(name))
        if local.time() >= time(hour):
            made += _remind_zone(name, local.date(), now)
    return made


def _remind_zone(name: str | None, day: date, now: datetime) -> int:
    done = exists().where(DailySet.user_id == DailyPlan.user_id, DailySet.bank_id == DailyPlan.bank_id,
                          DailySet.day == day, DailySet.completed_at.is_not(None))
    waiting = exists(select(DailyPlan.id).where(DailyPlan.user_id == User.id, ~done).correlate(User))
    chosen = exists().where(NotificationPreference.user_id == User.id, NotificationPreference.kind == KIND,
                            NotificationPreference.is_enabled.is_(True))
    end_of_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone(name))
    rows = (select(User.id, literal(KIND), literal("drills-daily:") + as_text(User.id) + literal(f":{day.isoformat()}"),
                   localized(_l("Daily practice: today's questions are waiting.")), literal(""), literal("/drills"),
                   literal(end_of_day, UTCDateTime()))
            .where(User.timezone == name if name else User.timezone.is_(None), User.is_active.is_(True), waiting,
                   chosen))
    return notify_from(rows, KIND, now=now)

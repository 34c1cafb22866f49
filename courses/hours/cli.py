"""`flask hours backfill`, `flask hours check` and `flask hours retarget`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from classroom.database import begin_write, utcnow
from classroom.extensions import db
from classroom.timefmt import local_date
from courses.attendance.models import ATTENDED, Attendance
from courses.catalog.models import ClassSession, Lesson
from courses.hours import rollups
from courses.hours.models import HoursEntry, HoursMonth, HoursYear
from courses.hours.services import credit_lesson, session_credit_key, sync_session_credit
from courses.study.models import LessonProgress

T = TypeVar("T")
hours_cli = AppGroup("hours", help="The training-hours ledger.")


@hours_cli.command("backfill")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(min=1))
def backfill(batch: int) -> None:
    """Credit lesson completions and attendance recorded before the ledger existed (idempotent:
    every credit has its source key, and existing keys are skipped)."""
    now = utcnow()
    credited = _backfill_lessons(batch, now=now) + _backfill_sessions(batch, now=now)
    db.session.commit()
    click.echo(f"{credited} entries credited ({local_date(now)}).")


def _backfill_lessons(batch: int, *, now: datetime) -> int:
    credited = 0
    lessons = db.session.execute(
        select(LessonProgress.user_id, Lesson).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.completed_at.is_not(None)).order_by(LessonProgress.id)
    ).all()
    for chunk in _chunks(lessons, batch):
        done = _existing_keys([f"lesson:{lesson.id}:{user_id}" for user_id, lesson in chunk])
        for user_id, lesson in chunk:
            if f"lesson:{lesson.id}:{user_id}" not in done:
                credited += credit_lesson(lesson, user_id, now=now) is not None
    return credited


def _backfill_sessions(batch: int, *, now: datetime) -> int:
    credited = 0
    attended = db.session.execute(
        select(Attendance, ClassSession).join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(Attendance.status.in_(ATTENDED)).order_by(Attendance.id)
    ).all()
    for chunk in _chunks(attended, batch):
        done = _existing_keys([session_credit_key(s.id, a.user_id, a.changes) for a, s in chunk])
        for attendance, session in chunk:
            if session_credit_key(session.id, attendance.user_id, attendance.changes) not in done:
                credited += sync_session_credit(session, attendance.user_id, attended=True,
                                                change=attendance.changes, now=now) is not None
    return credited


def _chunks(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _existing_keys(keys: list[str]) -> set[str]:
    return set(db.session.scalars(select(HoursEntry.source_key).where(HoursEntry.source_key.in_(keys))))


@hours_cli.command("check")
def check() -> None:
    """Compare the rollups with the ledger; exit 1 and list the differences if they disagree."""
    ledger = dict(((union or 0, month, source, category), minutes) for union, month, source, category, minutes in
                  db.session.execute(
                      select(HoursEntry.union_id, func.min(HoursEntry.earned_on), HoursEntry.source,
                             HoursEntry.category, func.sum(HoursEntry.minutes))
                      .group_by(HoursEntry.union_id, _month(HoursEntry.earned_on), HoursEntry.source,
                                HoursEntry.category)).all())
    ledger = {(union, month.replace(day=1), source, category): minutes
              for (union, month, source, category), minutes in ledger.items()}
    rollup = {(row.union_id, row.month, row.source, row.category): row.minutes
              for row in db.session.scalars(select(HoursMonth))}
    differences = {key: (ledger.get(key, 0), rollup.get(key, 0)) for key in set(ledger) | set(rollup)
                   if ledger.get(key, 0) != rollup.get(key, 0)}
    year = func.extract("year", HoursEntry.earned_on)
    years = {(user, int(y), union): minutes for user, y, union, minutes in db.session.execute(
        select(HoursYear.user_id, HoursYear.year, HoursYear.union_id, HoursYear.minutes)).all()}
    people = {(user, int(y), union or 0): int(minutes) for user, y, union, minutes in db.session.execute(
        select(HoursEntry.user_id, year, HoursEntry.union_id, func.sum(HoursEntry.minutes))
        .group_by(HoursEntry.user_id, year, HoursEntry.union_id)).all()}
    person_differences = {key: (people.get(key, 0), years.get(key, 0)) for key in set(years) | set(people)
                          if people.get(key, 0) != years.get(key, 0)}
    for key, (in_ledger, in_rollup) in sorted(differences.items(), key=str):
        click.echo(f"month rollup {key}: ledger {in_ledger}, rollup {in_rollup}")
    for (user, y, union), (in_ledger, in_rollup) in sorted(person_differences.items()):
        click.echo(f"year rollup of user {user}, {y}, union {union}: ledger {in_ledger}, rollup {in_rollup}")
    marks = rollups.mismatches()
    for line in marks:
        click.echo(line)
    if differences or person_differences or marks:
        raise SystemExit(1)
    click.echo(f"The rollups match the ledger ({len(rollup)} month rows, {len(years)} person-year rows).")


@hours_cli.command("retarget")
def retarget() -> None:
    """Recount the people past the annual target of the unions whose target changed (what the scheduler does
    every HOURS_RETARGET_SECONDS)."""
    begin_write(db.session)
    recounted = rollups.retarget()
    db.session.commit()
    click.echo(f"{recounted} union-years recounted.")


def _month(column: Any) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("month", column)
    return func.strftime("%Y-%m", column)



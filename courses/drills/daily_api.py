"""每日一练 through the API, as the bank's page and its daily practice mode run it: today's set of a bank
(drawn for the worker alone on the first POST of their day, kept for the day), each question answered in
the practice flow (right or wrong, the explanation, the mistake book) and noted in the set, the streak,
and daily practice turned on or off. Its evening reminder is a notification kind like any other
(``drills.daily`` in /api/v1/me/notification-preferences). A bank outside the worker's unions is an
audited 404, as on the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from classroom.api.door import idempotent, run
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from courses.drills import daily, practice
from courses.drills.api import given_answer, person_and_bank, practice_result, question_of
from courses.drills.api_schemas import DrillDailyResultSchema, DrillDailySchema, DrillPracticeAnswerSchema
from courses.drills.models import QuestionBank

bp = ApiBlueprint("api_drill_daily", __name__, url_prefix="/api/v1/drill-banks",
                  description="每日一练 (daily practice): today's questions of a bank, the streak, the daily plan.")


@bp.route("/<int:bank_id>/daily")
@bp.auth(person=True)
@bp.etag
@bp.response(200, DrillDailySchema)
def today(bank_id: int):
    """Today's set of the bank (empty until drawn: POST), which of it is answered, whether it is done, and
    the streak while daily practice is on."""
    person, bank = person_and_bank(bank_id)
    return daily_of(person, bank, now=utcnow())


@bp.route("/<int:bank_id>/daily", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(200, DrillDailySchema)
def start(bank_id: int):
    """Draw today's set (the bank's questions a day, drawn for this worker and this day); again the same
    day: the same set. 409 for a bank without questions."""
    person, bank = person_and_bank(bank_id)
    now = utcnow()
    run(lambda: daily.start(person, bank, now=now))
    return daily_of(person, bank, now=now)


@bp.route("/<int:bank_id>/daily/answers", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.problems(409)
@bp.arguments(DrillPracticeAnswerSchema)
@bp.response(201, DrillDailyResultSchema)
def answer(data: dict, bank_id: int):
    """Answer a question of today's set (its version_id): scored as in practice, with the right answer and
    the explanation; the set is done once every question is answered. 409 for a question not in today's
    set (or before it is drawn), 422 for a version not of this bank."""
    person, bank = person_and_bank(bank_id)
    now = utcnow()

    def scored():
        version = practice.version_in_bank(bank, data["version_id"])
        return version, daily.answer(person, bank, version, given_answer(version.kind, data), now=now)

    version, record = run(scored)
    return {**practice_result(person.id, version, record), "daily": daily_of(person, bank, now=now)}, 201


@bp.route("/<int:bank_id>/daily/plan", methods=["PUT"])
@bp.auth(person=True)
@bp.response(200, DrillDailySchema)
def plan_on(bank_id: int):
    """Turn daily practice on for the bank (again: no change): its streak counts, its reminder may come."""
    person, bank = person_and_bank(bank_id)
    run(lambda: daily.turn_on(person, bank, now=utcnow()))
    return daily_of(person, bank, now=utcnow())


@bp.route("/<int:bank_id>/daily/plan", methods=["DELETE"])
@bp.auth(person=True)
@bp.response(200, DrillDailySchema)
def plan_off(bank_id: int):
    """Turn daily practice off for the bank (again: no change); the days done stay."""
    person, bank = person_and_bank(bank_id)
    run(lambda: daily.turn_off(person, bank))
    return daily_of(person, bank, now=utcnow())


def daily_of(person: Any, bank: QuestionBank, *, now: datetime) -> dict:
    """Today's set as the API shows it, with the streak as the bank's page reads it (five queries)."""
    found = daily.todays_set(person, bank, now=now)
    streak = daily.streaks(person, now=now, bank_id=bank.id).get(bank.id)
    rows = daily.set_questions(list(found.questions)) if found else []
    favourites = practice.favourite_ids(person.id, [question.id for question, _version in rows])
    answered = set(found.answered) if found else set()
    return {"bank_id": bank.id, "day": daily.today_of(person, now), "plan": streak is not None,
            "size": bank.daily_size, "started": found is not None,
            "streak": None if streak is None else {"days": streak.days, "done_today": streak.done_today},
            "questions": [{**question_of(question, version, favourite=question.id in favourites),
                           "answered": question.id in answered} for question, version in rows],
            "answered": len(answered),
            "done": found is not None and found.completed_at is not None}

"""Mock exams and online theory rounds through the API, as the mock-exam pages run them: the exams of a bank
and the worker's rounds, starting a paper (drawn for this person, timed on the server; one open paper at a
time), saving one answer at a time as the worker goes (a PUT: one small upsert, repeatable), submitting
(scored on the server once) and the result, the pictures of its questions, and the exam's rankings. A paper
shows no right answer until it is submitted. Another worker's paper, an exam of a bank outside the worker's
unions, or a round they did not enter, is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from classroom.api.door import deny, idempotent, owned, run
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person, current_person_id
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, page_of
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.domain import Conflict
from classroom.extensions import db
from courses.drills import access, banks, mock, reads, rounds
from courses.drills import rankings as ranking
from courses.drills.api import correct_answer, given_answer, image_of, options, person_and_bank
from courses.drills.api_schemas import (
    DrillAttemptSchema,
    DrillExamRankingsSchema,
    DrillExamSchema,
    DrillGivenSchema,
    DrillSavedAnswerSchema,
)
from courses.drills.models import MockAttempt, MockExam, QuestionBank, QuestionVersion

bp = ApiBlueprint("api_drill_exams", __name__, url_prefix="/api/v1",
                  description="Mock exams and online theory rounds: a paper per person, timed on the server.")
OPEN_ALREADY = _l("A paper of this exam is open: finish it first (the exam's current_attempt_id).")
MAX_QUESTIONS = 1000


@bp.route("/drill-banks/<int:bank_id>/exams")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(DrillExamSchema, "DrillExamPage"))
def bank_exams(args: dict, bank_id: int):
    """The bank's mock exams, oldest first, with the worker's open paper and best score in each."""
    person, bank = person_and_bank(bank_id)
    page = cursor_page(reads.bank_exams(bank.id), reads.EXAM_ORDER, lambda exam: (exam.id,), limit=args["limit"],
                       cursor=args.get("cursor"), descending=False)
    return {"items": exams_of(page.items, person.id), "next_cursor": page.next_cursor}


@bp.route("/me/drill-rounds")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(DrillExamSchema, "DrillRoundPage"))
def my_rounds(args: dict):
    """The competitions' online theory rounds the worker entered and may sit now or later, soonest first."""
    person = current_person()

    def key(exam: MockExam) -> tuple:  # the page's last round: its stage's start
        return reads.stages_of([exam])[exam.stage_id or 0].starts_at, exam.id

    page = cursor_page(reads.my_rounds(person.id, utcnow()), reads.ROUND_ORDER, key, limit=args["limit"],
                       cursor=args.get("cursor"), descending=False)
    return {"items": exams_of(page.items, person.id), "next_cursor": page.next_cursor}


@bp.route("/drill-exams/<int:exam_id>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, DrillExamSchema)
def exam(exam_id: int):
    """A mock exam or a round: its terms, the worker's open paper (if any) and best score."""
    person, found = person_and_exam(exam_id)
    return exams_of([found], person.id)[0]


@bp.route("/drill-exams/<int:exam_id>/attempts", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.problems(409)
@bp.response(201, DrillAttemptSchema)
def start(exam_id: int):
    """Start a paper: drawn for this worker by the exam's blueprint, due at the deadline (a round's: its
    window's end at the latest). 409 while another paper of the exam is open, or outside a round's window."""
    person, found = person_and_exam(exam_id)
    now = utcnow()

    def started() -> MockAttempt:
        attempt = mock.start(person, found, now=now)
        if attempt.started_at != now:  # the open paper, not a new one
            raise Conflict(OPEN_ALREADY)
        return attempt

    return attempt_answer(run(started), found, now=now), 201


@bp.route("/drill-exams/<int:exam_id>/rankings")
@bp.auth(person=True)
@bp.etag
@bp.response(200, DrillExamRankingsSchema)
def exam_rankings(exam_id: int):
    """The exam's (or round's) leaderboard, as its rankings page shows it: the best 50 people by best score,
    then the shorter time (names masked unless the caller's own or of a union the caller administers), and
    the unions by participation (a round: entries that sat / its confirmed entries; a mock exam: members
    who sat / members) with their average score."""
    person, found = person_and_exam(exam_id)
    people = ranking.exam_people(person, found)
    return {"exam_id": found.id, "counted": "entries" if found.stage_id else "members",
            "people": [{"rank": rank, "name": row.name, "score": row.score, "seconds": row.seconds}
                       for rank, row in enumerate(people, 1)],
            "unions": [{"rank": rank, "union_id": row.union.id, "union_name": row.union.name, "members": row.members,
                        "sat": row.practised, "rate": row.rate, "average_score": row.average}
                       for rank, row in enumerate(ranking.exam_unions(found), 1)]}


@bp.route("/drill-attempts/<int:attempt_id>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, DrillAttemptSchema)
def attempt(attempt_id: int):
    """One of the worker's papers: its questions and the answers saved, the time left on the server's clock;
    once submitted, the score and each question's right answer and explanation."""
    found = own_attempt(attempt_id)
    return attempt_answer(found, db.session.get_one(MockExam, found.exam_id), now=utcnow())


@bp.route(f"/drill-attempts/<int:attempt_id>/answers/<int(min=1, max={MAX_QUESTIONS}):number>", methods=["PUT"])
@bp.auth(person=True)
@bp.problems(409)
@bp.arguments(DrillGivenSchema)
@bp.response(200, DrillSavedAnswerSchema)
def save_answer(data: dict, attempt_id: int, number: int):
    """Save the answer to question ``number`` of an open paper (again: replaced). 409 once the paper is
    submitted or its time is up; 404 for a number the paper does not have."""
    paper = reads.sheet(attempt_id)  # what never changes of it, kept by the process; open or not, the write checks
    if paper is None or paper.user_id != current_person_id():
        deny("MockAttempt", attempt_id)
    if number > len(paper.versions):
        raise Problem("not-found")
    version_id, now = paper.versions[number - 1], utcnow()
    given = given_answer(reads.version_kind(version_id), data)
    run(lambda: mock.save_answer(attempt_id, version_id, given, now=now))
    return {"number": number, "saved_at": now, "choices": sorted(set(data["choices"])), "blanks": data["blanks"]}


@bp.route("/drill-attempts/<int:attempt_id>/submit", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.problems(409)
@bp.response(200, DrillAttemptSchema)
def submit(attempt_id: int):
    """Submit the paper: its saved answers are scored on the server, once (409 after)."""
    found = own_attempt(attempt_id)
    person, now = current_person(), utcnow()
    run(lambda: mock.submit(found, now=now, actor=person))
    return attempt_answer(found, db.session.get_one(MockExam, found.exam_id), now=now)


@bp.route("/drill-attempts/<int:attempt_id>/images/<int:version_id>")
@bp.auth(person=True)
@bp.response(200, {"type": "string", "format": "binary"}, content_type="image/*",
             description="The picture as it was uploaded (PNG, JPEG, GIF or WebP).")
def attempt_image(attempt_id: int, version_id: int):
    """The picture of a question on the worker's own paper (a round's entrant may not practise its bank),
    as the paper's page shows it; 404 for anyone else's paper and for a version not on it."""
    found = own_attempt(attempt_id)
    if version_id not in {item[0] for item in found.paper}:
        raise Problem("not-found")
    return banks.image_download(db.session.get_one(QuestionVersion, version_id))


def person_and_exam(exam_id: int) -> tuple[Any, MockExam]:
    """The worker and an exam they may sit, by the pages' rules: a round's entrants (``rounds.may_see``), a
    mock exam's bank practisers (``access.can_practise``); else an audited 404."""
    person = current_person()
    found = db.session.get(MockExam, exam_id)
    if found is None or not may_sit(person, found):
        deny("MockExam", exam_id)
    return person, found


def may_sit(person: Any, found: MockExam) -> bool:
    if found.stage_id:
        return rounds.may_see(person, found)
    return access.can_practise(person, db.session.get_one(QuestionBank, found.bank_id))


def own_attempt(attempt_id: int) -> MockAttempt:
    """The worker's own paper; anyone else's is an audited 404."""
    return owned(MockAttempt, attempt_id, user_id=current_person().id)


def exams_of(exams: list[MockExam], user_id: int) -> list[dict]:
    """Exams as the API shows them, with the worker's open papers and best scores (three queries a page)."""
    stages = reads.stages_of(exams)
    current = reads.open_attempts(user_id, [exam.id for exam in exams])
    best = reads.best_scores(user_id, [exam.id for exam in exams])
    return [{"id": exam.id, "bank_id": exam.bank_id, "title": exam.title, "minutes": exam.minutes,
             "pass_score": exam.pass_score, "questions": sum(int(rule.get("count", 0)) for rule in exam.blueprint),
             "round": round_of(stages.get(exam.stage_id or 0)), "current_attempt_id": current.get(exam.id),
             "best_score": best.get(exam.id)} for exam in exams]


def round_of(stage: Any) -> dict | None:
    return None if stage is None else {"stage_id": stage.id, "starts_at": stage.starts_at, "ends_at": stage.ends_at}


def attempt_answer(found: MockAttempt, exam_row: MockExam, *, now: datetime) -> dict:
    """A paper as the API shows it: no right answer before it is submitted."""
    done = found.submitted_at is not None
    return {"id": found.id, "exam_id": found.exam_id, "started_at": found.started_at,
            "deadline_at": found.deadline_at, "seconds_left": 0 if done else mock.seconds_left(found, now),
            "submitted_at": found.submitted_at, "auto_submitted": found.auto_submitted, "score": found.score,
            "passed": None if found.score is None else found.score >= exam_row.pass_score,
            "questions": [paper_question(row, done, found.id) for row in mock.paper_rows(found)]}


def paper_question(row: mock.PaperRow, done: bool, attempt_id: int) -> dict:
    version = row.version
    blank = version.kind == "blank"
    saved = {"choices": [] if blank else [int(index) + 1 for index in row.saved],
             "blanks": [str(text) for text in row.saved] if blank else []}
    return {"number": row.number, "kind": version.kind, "text": version.text, "options": options(version),
            "blanks": len(version.answer) if blank else 0, "points": row.points, "saved": saved,
            "image": image_of(version, "api_drill_exams.attempt_image", attempt_id=attempt_id),
            "right": row.right, "correct": correct_answer(version) if done else None,
            "explanation": version.explanation if done else None}

"""A course's exam through the API, as the exam pages do: the exam and the worker's attempts, starting (or
resuming) an attempt, keeping answers as they are given, and submitting, scored on the server exactly once.
An attempt shows its questions in its own order, never the correct options before it is submitted (and after,
only when no attempt is left). Another worker's attempt is a 404."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from classroom.api.door import deny, idempotent, owned, run
from classroom.api.principal import current_person
from classroom.api.problems import Problem
from classroom.api.schemas import instant
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.extensions import db
from courses.catalog.models import Course
from courses.enrollment.services import can_access
from courses.study import exam_attempts as attempts
from courses.study.exam_building import exam_of, exam_summary
from courses.study.exam_scoring import answer_sheet, attempt_review, saved_choices
from courses.study.models import Exam, ExamAttempt
from courses.study.services import best_exam_score, is_studying

bp = ApiBlueprint("api_exams", __name__, url_prefix="/api/v1",
                  description="Course exams: attempts, answers and their scoring on the server.")
QUESTION_NUMBER = validate.Regexp(r"^[1-9][0-9]{0,3}$", error=_l("Number the questions as shown, from 1."))


class ExamSchema(Schema):
    course_id = fields.Integer(required=True)
    title = fields.String(required=True)
    pass_score = fields.Integer(required=True, metadata={"description": "Percent."})
    attempt_limit = fields.Integer(required=True, allow_none=True, metadata={"description": "Null: no limit."})
    time_limit_minutes = fields.Integer(required=True, allow_none=True)
    questions = fields.Integer(required=True)
    points = fields.Integer(required=True)
    attempts_used = fields.Integer(required=True)
    attempts_left = fields.Integer(required=True, allow_none=True)
    current_attempt_id = fields.Integer(required=True, allow_none=True, metadata={"description": "An open attempt."})
    best_score = fields.Integer(required=True, allow_none=True)


class OptionSchema(Schema):
    position = fields.Integer(required=True, metadata={"description": "As shown in this attempt, from 1."})
    text = fields.String(required=True)


class SheetQuestionSchema(Schema):
    number = fields.Integer(required=True)
    text = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["single", "multiple"]})
    points = fields.Integer(required=True)
    options = fields.List(fields.Nested(OptionSchema), required=True)
    chosen = fields.List(fields.Integer(), required=True, metadata={"description": "The positions kept so far."})


class ReviewOptionSchema(Schema):
    text = fields.String(required=True)
    chosen = fields.Boolean(required=True)
    correct = fields.Boolean(required=True, allow_none=True, metadata={"description": "Null unless revealed."})


class ReviewQuestionSchema(Schema):
    number = fields.Integer(required=True)
    text = fields.String(required=True)
    points = fields.Integer(required=True)
    right = fields.Boolean(required=True)
    options = fields.List(fields.Nested(ReviewOptionSchema), required=True)


class AttemptSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    started_at = instant(required=True)
    deadline_at = instant(required=True, allow_none=True)
    submitted_at = instant(required=True, allow_none=True)
    score = fields.Integer(required=True, allow_none=True, metadata={"description": "Percent, once submitted."})
    passed = fields.Boolean(required=True, allow_none=True)
    timed_out = fields.Boolean(required=True, metadata={"description": "Submitted too late: scored 0."})
    questions = fields.List(fields.Nested(SheetQuestionSchema), required=True, allow_none=True,
                            metadata={"description": "While the attempt is open."})
    review = fields.List(fields.Nested(ReviewQuestionSchema), required=True, allow_none=True,
                         metadata={"description": "Once it is submitted."})


class SubmissionSchema(AttemptSchema):
    course_completed = fields.Boolean(required=True, metadata={"description": "This submission completed the course."})


def answers_field(**kwargs) -> fields.Dict:
    """Shown positions chosen, by question number: {"1": [2], "3": [1, 4]}."""
    positions = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=100)),
                            validate=validate.Length(max=100))
    return fields.Dict(keys=fields.String(validate=QUESTION_NUMBER), values=positions,
                       validate=validate.Length(max=1000), **kwargs)


class AnswersSchema(Schema):
    answers = answers_field(required=True, metadata={
        "description": 'Shown positions chosen, by question number: {"1": [2], "3": [1, 4]}.'})


class SubmitSchema(Schema):
    answers = answers_field(load_default=dict, metadata={"description": "Answers not kept before (optional)."})


@bp.route("/courses/<int:course_id>/exam")
@bp.auth(person=True)
@bp.etag
@bp.response(200, ExamSchema)
def show(course_id: int):
    """The course's exam and the worker's attempts at it (403 before enrolling)."""
    person, exam = person_and_exam(course_id)
    used = attempts.attempt_count(exam.id, person.id)
    current = attempts.current_attempt(exam.id, person.id, utcnow())
    count, points = exam_summary(exam.id)
    return {"course_id": exam.course_id, "title": exam.title, "pass_score": exam.pass_score,
            "attempt_limit": exam.attempt_limit, "time_limit_minutes": exam.time_limit_minutes, "questions": count,
            "points": points, "attempts_used": used, "attempts_left": attempts.attempts_left(exam, used),
            "current_attempt_id": current.id if current else None, "best_score": best_exam_score(person.id, course_id)}


@bp.route("/courses/<int:course_id>/exam/attempts", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(201, AttemptSchema)
@bp.alt_response(200, schema=AttemptSchema, description="The attempt still open, resumed.", success=True)
def start(course_id: int):
    """Start the next attempt (within the limit), or resume the one still open (200)."""
    person, exam = person_and_exam(course_id)
    before = attempts.attempt_count(exam.id, person.id)
    started = run(lambda: attempts.start_attempt(person, exam, now=utcnow()))
    return attempt_answer(started, exam), 201 if started.number > before else 200


@bp.route("/exam-attempts/<int:attempt_id>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, AttemptSchema)
def attempt(attempt_id: int):
    """One of the worker's attempts: its questions while open, its review once submitted."""
    found = own_attempt(attempt_id)
    return attempt_answer(found, db.session.get_one(Exam, found.exam_id))


@bp.route("/exam-attempts/<int:attempt_id>/answers", methods=["PUT"])
@bp.auth(person=True)
@bp.problems(409)
@bp.arguments(AnswersSchema)
@bp.response(200, AttemptSchema)
def answer(data: dict, attempt_id: int):
    """Keep answers of an open attempt (some questions or all; a question answered again is replaced)."""
    found = own_attempt(attempt_id)
    run(lambda: attempts.save_answers(found, numbered(data["answers"]), now=utcnow()))
    return attempt_answer(found, db.session.get_one(Exam, found.exam_id))


@bp.route("/exam-attempts/<int:attempt_id>/submit", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.problems(409)
@bp.arguments(SubmitSchema)
@bp.response(200, SubmissionSchema)
def submit(data: dict, attempt_id: int):
    """Submit the attempt: the answers kept and those sent now are scored on the server, once (409 after).
    Answers arriving after the time limit are kept with score 0."""
    found = own_attempt(attempt_id)
    outcome = run(lambda: attempts.submit_attempt(found, numbered(data["answers"]), now=utcnow(), keep_saved=True))
    return {**attempt_answer(found, db.session.get_one(Exam, found.exam_id)), "course_completed": outcome.completed}


def person_and_exam(course_id: int):
    """The worker and the exam of a course they study; 404 without course or exam, 403 before enrolling."""
    person = current_person()
    course = db.session.get(Course, course_id)
    if course is not None and not can_access(person, course):
        deny("Course", course_id)  # outside the worker's reach: audited
    exam = exam_of(course_id) if course is not None else None
    if exam is None:
        raise Problem("not-found")
    if not is_studying(person.id, course_id):
        raise Problem("forbidden", _l("Enroll in the course to take its exam."))
    return person, exam


def own_attempt(attempt_id: int) -> ExamAttempt:
    """The worker's own attempt; anyone else's is an audited 404."""
    return owned(ExamAttempt, attempt_id, user_id=current_person().id)


def numbered(answers: dict[str, list[int]]) -> dict[int, list[str]]:
    """{"1": [2]} as the services take it: {1: ["2"]}."""
    return {int(number): [str(position) for position in positions] for number, positions in answers.items()}


def attempt_answer(found: ExamAttempt, exam: Exam) -> dict:
    """An attempt as the API shows it: its sheet (and choices kept) while open, its review once submitted."""
    submitted = found.submitted_at is not None
    return {"id": found.id, "number": found.number, "started_at": found.started_at, "deadline_at": found.deadline_at,
            "submitted_at": found.submitted_at, "score": found.score, "passed": found.passed,
            "timed_out": attempts.timed_out(found), "questions": None if submitted else sheet(found),
            "review": review(found, exam) if submitted else None}


def sheet(found: ExamAttempt) -> list[dict]:
    """The open attempt's questions in its order, with the positions chosen so far."""
    chosen = saved_choices(found)
    return [{"number": question.number, "text": question.text, "kind": question.kind, "points": question.points,
             "chosen": chosen.get(question.number, []),
             "options": [{"position": position, "text": text} for position, text in question.options]}
            for question in answer_sheet(found)]


def review(found: ExamAttempt, exam: Exam) -> list[dict]:
    """The submitted attempt, question by question (the correct options once no attempt is left)."""
    return [{"number": question.number, "text": question.text, "points": question.points, "right": question.right,
             "options": [{"text": text, "chosen": picked, "correct": correct}
                         for text, picked, correct in question.options]}
            for question in attempt_review(found, reveal=attempts.answers_revealed(exam, found.user_id))]

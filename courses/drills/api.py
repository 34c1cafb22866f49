"""网上练兵 through the API, as the drill pages do it: the banks a worker may practise, the next question and
its answer (right or wrong, with the explanation), a question's picture, the mistake book, favourites, and
the bank's ranking of unions by participation. A bank outside the worker's unions is an audited 404, as on
the pages (``courses.drills.access``). Daily practice: ``courses.drills.daily_api``; mock exams, papers and
their rankings: ``courses.drills.mock_api``."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext
from sqlalchemy import Integer, literal_column
from sqlalchemy.exc import IntegrityError

from classroom.api.door import deny, idempotent, run
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, page_of
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.domain import Invalid
from classroom.extensions import db
from classroom.pagination import decode_cursor, encode_cursor
from courses.drills import access, banks, practice, reads
from courses.drills import rankings as ranking
from courses.drills.api_schemas import (
    DrillBankSchema,
    DrillFavouriteSchema,
    DrillMistakeSchema,
    DrillNextArgs,
    DrillNextQuestionSchema,
    DrillPracticeAnswerSchema,
    DrillPracticeResultSchema,
    DrillRankingArgs,
    DrillUnionRankSchema,
)
from courses.drills.content import options_of
from courses.drills.models import DrillQuestion, QuestionBank, QuestionVersion

bp = ApiBlueprint("api_drills", __name__, url_prefix="/api/v1/drill-banks",
                  description="网上练兵: question banks, practice, the mistake book, favourites, rankings.")
RANK = (literal_column("rank", Integer()),)


@bp.route("")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(DrillBankSchema, "DrillBankPage"))
def index(args: dict):
    """The banks the worker may practise (of their unions and those above), by title."""
    person = current_person()
    page = cursor_page(reads.practisable_banks(person), reads.BANK_ORDER, lambda bank: (bank.title, bank.id),
                       limit=args["limit"], cursor=args.get("cursor"), descending=False)
    return {"items": [{"id": bank.id, "title": bank.title, "trade": bank.trade, "skill_level": bank.skill_level,
                       "union_id": bank.union_id, "suggested": bool(person.trade) and bank.trade == person.trade}
                      for bank in page.items], "next_cursor": page.next_cursor}


@bp.route("/<int:bank_id>/practice")
@bp.auth(person=True)
@bp.etag
@bp.arguments(DrillNextArgs, location="query")
@bp.response(200, DrillNextQuestionSchema)
def next_question(args: dict, bank_id: int):
    """The next question to practise in a mode (in order, random, the mistake book, the favourites)."""
    person, bank = person_and_bank(bank_id)
    found = practice.next_question(person.id, bank, args["mode"], after=args.get("after"))
    if found is None:
        return {"mode": args["mode"], "question": None}
    return {"mode": args["mode"], "question": question_of(*found, favourite=practice.is_favourite(person.id,
                                                                                                    found[0].id))}


@bp.route("/<int:bank_id>/practice/answers", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.arguments(DrillPracticeAnswerSchema)
@bp.response(201, DrillPracticeResultSchema)
def answer(data: dict, bank_id: int):
    """Answer the question shown (its version_id): right or wrong, the right answer and the explanation;
    a wrong answer goes to the mistake book. 422 for a version not of this bank."""
    person, bank = person_and_bank(bank_id)

    def scored():
        version = practice.version_in_bank(bank, data["version_id"])
        return version, practice.answer(person, bank, version, given_answer(version.kind, data), now=utcnow())

    return practice_result(person.id, *run(scored))


@bp.route("/<int:bank_id>/images/<int:version_id>")
@bp.auth(person=True)
@bp.response(200, {"type": "string", "format": "binary"}, content_type="image/*",
             description="The picture as it was uploaded (PNG, JPEG, GIF or WebP).")
def image(bank_id: int, version_id: int):
    """The picture of a question (of any version) of a bank the worker may practise, as the practice page
    shows it; 404 for anyone else, and for a version without one."""
    _person, bank = person_and_bank(bank_id)
    try:
        version = practice.version_in_bank(bank, version_id)
    except Invalid:
        raise Problem("not-found") from None
    return banks.image_download(version)


@bp.route("/<int:bank_id>/mistakes")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(DrillMistakeSchema, "DrillMistakePage"))
def mistakes(args: dict, bank_id: int):
    """The worker's mistake book (错题本) in the bank, oldest first: questions answered wrong, until answered
    right on two different days."""
    person, bank = person_and_bank(bank_id)
    page = cursor_page(reads.open_mistakes(person.id, bank.id), reads.MISTAKE_ORDER,
                       lambda row: (row.added_at, row.id), limit=args["limit"], cursor=args.get("cursor"),
                       descending=False)
    found = reads.current_versions_of(row.question_id for row in page.items)
    return {"items": [mistake_of(row, *found[row.question_id]) for row in page.items],
            "next_cursor": page.next_cursor}


@bp.route("/<int:bank_id>/favourites/<int:question_id>", methods=["PUT"])
@bp.auth(person=True)
@bp.response(200, DrillFavouriteSchema)
def add_favourite(bank_id: int, question_id: int):
    """Keep the question among the worker's favourites (again: no change)."""
    return set_favourite(bank_id, question_id, True)


@bp.route("/<int:bank_id>/favourites/<int:question_id>", methods=["DELETE"])
@bp.auth(person=True)
@bp.response(200, DrillFavouriteSchema)
def remove_favourite(bank_id: int, question_id: int):
    """Take the question out of the worker's favourites (again: no change)."""
    return set_favourite(bank_id, question_id, False)


@bp.route("/<int:bank_id>/rankings")
@bp.auth(person=True)
@bp.etag
@bp.arguments(DrillRankingArgs, location="query")
@bp.response(200, page_of(DrillUnionRankSchema, "DrillUnionRankPage"))
def rankings(args: dict, bank_id: int):
    """The grassroots unions under the bank's union by participation (members who practised ÷ members) in
    the last ``days``, best first, with their average mock-exam score (the figure union chairs compare)."""
    _person, bank = person_and_bank(bank_id)
    start = 0
    if args.get("cursor"):
        decoded = decode_cursor(args["cursor"], RANK)
        if decoded is None or decoded[0] < 0:
            raise Problem("invalid-cursor")
        start = decoded[0]
    rows = ranking.union_rows(bank, now=utcnow(), days=args["days"])
    chosen = rows[start:start + args["limit"]]
    end = start + len(chosen)
    return {"items": [{"rank": start + index, "union_id": row.union.id, "union_name": row.union.name,
                       "members": row.members, "practised": row.practised, "rate": row.rate,
                       "average_score": row.average} for index, row in enumerate(chosen, 1)],
            "next_cursor": encode_cursor([end]) if end < len(rows) else None}


def person_and_bank(bank_id: int) -> tuple[Any, QuestionBank]:
    """The worker and a bank they may practise (``access.can_practise``, the pages' rule); else an audited 404."""
    person = current_person()
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None or not access.can_practise(person, bank):
        deny("QuestionBank", bank_id)
    return person, bank


def set_favourite(bank_id: int, question_id: int, wanted: bool) -> dict:
    person, bank = person_and_bank(bank_id)
    question = db.session.get(DrillQuestion, question_id)
    if question is None or question.bank_id != bank.id:
        raise Problem("not-found")

    def change() -> None:
        if practice.is_favourite(person.id, question.id) == wanted:
            return
        try:
            with db.session.begin_nested():  # its savepoint is rolled back on a clash
                practice.toggle_favourite(person, bank, question, now=utcnow())
        except IntegrityError:  # the same request at the same moment kept it first
            pass

    run(change)
    return {"question_id": question.id, "favourite": practice.is_favourite(person.id, question.id)}


def given_answer(kind: str, data: dict) -> list[Any]:
    """The positions (from 1) or blanks sent, as the services read an answer."""
    return practice.given_answer(kind, [str(position - 1) for position in data["choices"]], data["blanks"])


def options(version: QuestionVersion) -> list[dict]:
    return [{"position": position, "text": text}
            for position, text in enumerate(options_of(version.kind, version.options), 1)]


def blank_count(version: QuestionVersion) -> int:
    return len(version.answer) if version.kind == "blank" else 0


def correct_answer(version: QuestionVersion) -> dict:
    """The right positions (from 1), or the texts each blank accepts."""
    if version.kind == "blank":
        return {"choices": [], "blanks": [[str(text) for text in accepted] for accepted in version.answer]}
    return {"choices": [int(index) + 1 for index in version.answer], "blanks": []}


def question_of(question: DrillQuestion, version: QuestionVersion, *, favourite: bool) -> dict:
    return {"question_id": question.id, "version_id": version.id, "code": question.code, "kind": version.kind,
            "text": version.text, "options": options(version), "blanks": blank_count(version),
            "difficulty": version.difficulty, "tags": list(version.tags or []), "favourite": favourite,
            "image": image_of(version, "api_drills.image", bank_id=question.bank_id)}


def image_of(version: QuestionVersion, endpoint: str, **values: Any) -> dict | None:
    """A version's picture as the API shows it: where to GET it (``endpoint``, which checks who asks as the
    page's image route does) and its alt text, as the pages show it; None without one."""
    if not version.image_key:
        return None
    return {"url": url_for(endpoint, version_id=version.id, **values),
            "alt": version.image_alt or gettext("Image of the question")}


def practice_result(user_id: int, version: QuestionVersion, record: Any) -> dict:
    """An answer scored in practice: right or not, the right answer, the explanation, the mistake book."""
    return {"id": record.id, "question_id": record.question_id, "version_id": version.id, "right": record.right,
            "correct": correct_answer(version), "explanation": version.explanation,
            "in_mistake_book": practice.in_mistake_book(user_id, record.question_id),
            "answered_at": record.answered_at}


def mistake_of(row: Any, code: str, version: QuestionVersion) -> dict:
    return {"question_id": row.question_id, "version_id": version.id, "code": code, "kind": version.kind,
            "text": version.text, "wrong_count": row.wrong_count, "added_at": row.added_at, "right_on": row.right_on}

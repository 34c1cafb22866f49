"""Banks and their questions: creating a bank, saving a question (a change makes a new version; the
same content changes nothing), reading the current versions."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any, BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from classroom.audit import record_event
from classroom.domain import Invalid, NotAllowed
from classroom.extensions import db
from classroom.storage import storage
from courses.catalog.attachments import KINDS, discard_file, place_file, receive_file
from courses.drills import access, content
from courses.drills.models import DrillQuestion, QuestionBank, QuestionVersion

IMAGE_FOLDER = "drills"  # under the upload folder (storage key prefix)
IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif", "webp"})


def create_bank(union_id: int, data: dict[str, Any], *, actor: Any, now: datetime) -> QuestionBank:
    if union_id not in {union.id for union in access.editor_unions(actor)}:
        raise NotAllowed(_l("You may not create a bank for this union."), field="union_id")
    bank = QuestionBank(union_id=union_id, title=data["title"], trade=data.get("trade") or None,
                        skill_level=data.get("skill_level"), daily_size=data.get("daily_size") or 5, created_at=now)
    db.session.add(bank)
    db.session.flush()
    record_event(actor, "drills.bank_create", bank, union_id=union_id)
    return bank


def update_bank(bank: QuestionBank, data: dict[str, Any], *, actor: Any) -> QuestionBank:
    if not access.can_edit(actor, bank):
        raise NotAllowed(_l("You may not change this bank."))
    bank.title, bank.trade, bank.skill_level = data["title"], data.get("trade") or None, data.get("skill_level")
    bank.daily_size = data.get("daily_size") or bank.daily_size
    record_event(actor, "drills.bank_update", bank, union_id=bank.union_id)
    return bank


def current_versions(bank_id: int, codes: Iterable[str] | None = None) -> dict[str, tuple[DrillQuestion,
                                                                                           QuestionVersion]]:
    """{code: (question, its current version)} of the bank (or of those codes), in one query."""
    statement = (select(DrillQuestion, QuestionVersion)
                 .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                             QuestionVersion.number == DrillQuestion.version))
                 .where(DrillQuestion.bank_id == bank_id))
    if codes is not None:
        statement = statement.where(DrillQuestion.code.in_(list(codes)))
    return {question.code: (question, version) for question, version in db.session.execute(statement).all()}


def change_kind(existing: tuple[DrillQuestion, QuestionVersion] | None, data: dict[str, Any]) -> str:
    """"create", "update" or "unchanged"."""
    if existing is None:
        return "create"
    return "unchanged" if content.same_content(existing[1], data) else "update"


def apply(bank: QuestionBank, changes: list[tuple[dict[str, Any], tuple[DrillQuestion, QuestionVersion] | None]],
          *, now: datetime) -> list[DrillQuestion]:
    """Write checked questions, each with what the bank holds under its code: a new question, a new
    version of it, or nothing when its content is unchanged (one flush for the lot)."""
    written = []
    for data, existing in changes:
        kind = change_kind(existing, data)
        if kind == "unchanged":
            continue
        if existing is not None:  # a new version keeps the image unless the change names another (or none)
            data = {"image_key": existing[1].image_key, "image_alt": existing[1].image_alt, **data}
        if existing is None:
            question = DrillQuestion(bank_id=bank.id, code=data["code"], kind=data["kind"], version=1, created_at=now)
            db.session.add(question)
        else:
            question = existing[0]
            question.version += 1
        question.kind, question.difficulty, question.tags, question.updated_at = (
            data["kind"], data["difficulty"], list(data["tags"]), now)
        written.append((question, data))
    db.session.flush()
    db.session.add_all([QuestionVersion(question_id=question.id, number=question.version, kind=data["kind"],
                                        text=data["text"], options=list(data["options"]),
                                        answer=list(data["answer"]), explanation=data["explanation"],
                                        difficulty=data["difficulty"], tags=list(data["tags"]),
                                        image_key=data.get("image_key"), image_alt=data.get("image_alt") or "",
                                        created_at=now)
                        for question, data in written])
    db.session.flush()
    return [question for question, _data in written]


def image_folder(upload_folder: str) -> str:
    return os.path.join(upload_folder, IMAGE_FOLDER)


def image_type(key: str) -> str:
    """The content type of a stored image, by the extension its checked upload was given."""
    return KINDS[key.rpartition(".")[2]].content_type


def image_download(version: QuestionVersion) -> Response:
    """The answer to an authorised request for a question version's image (the pages' and the API's);
    404 for a version without one."""
    if not version.image_key:
        raise NotFound()
    key = version.image_key
    return storage().download(f"{IMAGE_FOLDER}/{key}", f"question-{version.id}.{key.rpartition('.')[2]}",
                              image_type(key))


def save_question(bank: QuestionBank, data: dict[str, Any], *, actor: Any, now: datetime,
                  question: DrillQuestion | None = None, image: tuple[str | None, BinaryIO] | None = None,
                  folder: str = "", max_bytes: int = 0) -> DrillQuestion | None:
    """Save a question from the form: Invalid on the first error (next to its field); the code of an
    edited question stays, and a new question's code must be new to the bank. ``image`` (name, stream):
    a picture for the stem, checked as every upload is (name, size, type, content) and kept only if the
    question is saved."""
    if image is None:
        return _save_question(bank, data, actor=actor, now=now, question=question)
    try:
        stored = receive_file(image[0], image[1], folder=image_folder(folder), max_bytes=max_bytes,
                              allowed=IMAGE_TYPES)
    except Invalid as error:
        error.field = "image"
        raise
    try:
        saved = _save_question(bank, {**data, "image_key": stored.stored_name}, actor=actor, now=now,
                               question=question)
        place_file(stored, image_folder(folder))
    finally:
        discard_file(stored.temp_path)
    return saved


def _save_question(bank: QuestionBank, data: dict[str, Any], *, actor: Any, now: datetime,
                   question: DrillQuestion | None) -> DrillQuestion | None:
    if not access.can_edit(actor, bank):
        raise NotAllowed(_l("You may not change this bank."))
    if question is not None:
        data = {**data, "code": question.code}
    errors = content.check(data)
    if errors:
        raise Invalid(content.ERRORS[errors[0][1]], field=errors[0][0])
    existing = current_versions(bank.id, [data["code"]]).get(data["code"])
    if question is None and existing is not None:
        raise Invalid(_l("Another question of this bank has this code."), field="code")
    saved = apply(bank, [(data, existing)], now=now)
    for question in saved:
        record_event(actor, "drills.question_save", question, union_id=bank.union_id, version=question.version)
    return saved[0] if saved else None


def version_map(version_ids: Iterable[int]) -> dict[int, QuestionVersion]:
    ids = list(set(version_ids))
    if not ids:
        return {}
    return {version.id: version for version in db.session.scalars(select(QuestionVersion)
                                                                  .where(QuestionVersion.id.in_(ids)))}

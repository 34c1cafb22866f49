"""What a question is made of: its kinds, the checks on its content (shared by the form and the import),
and the scoring of an answer against the version shown (blanks compared after NFKC, trimming and case)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l

KIND_LABELS = {"single": _l("Single choice"), "multiple": _l("Multiple choice"), "true_false": _l("True or false"),
               "blank": _l("Fill in the blank")}
DIFFICULTY_LABELS = {1: _l("Easy"), 2: _l("Medium"), 3: _l("Hard")}
MAX_OPTIONS = 6
LETTERS = "ABCDEF"
ERRORS = {
    "code_missing": _l("The question code is missing."),
    "code_long": _l("The question code is longer than 40 characters."),
    "code_duplicate": _l("The same question code is on row %(row)d."),
    "kind_invalid": _l("Type: single, multiple, true_false or blank (单选, 多选, 判断, 填空)."),
    "text_missing": _l("The question text is missing."),
    "text_long": _l("The question text is longer than 2,000 characters."),
    "options_few": _l("A choice question needs at least two options, without gaps."),
    "options_many": _l("At most 6 options (A to F)."),
    "answer_missing": _l("The answer is missing."),
    "answer_invalid": _l("The answer names an option the question does not have."),
    "answer_single": _l("A single-choice question has exactly one right option."),
    "true_false_invalid": _l("True or false: the answer is 对/错, T/F, true/false or 正确/错误."),
    "difficulty_invalid": _l("Difficulty: 1 to 3, or 易/中/难."),
    "tags_long": _l("At most 5 tags of 30 characters each."),
    "explanation_long": _l("The explanation is longer than 2,000 characters."),
}
SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """A typed answer as compared: NFKC (full-width → half-width), spaces collapsed and trimmed, case folded."""
    return SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().casefold()


def options_of(kind: str, options: Sequence[str]) -> list[str]:
    """The options shown: true/false questions always show True and False."""
    if kind == "true_false":
        return [str(_l("True")), str(_l("False"))]
    return list(options) if kind in ("single", "multiple") else []


def is_right(kind: str, answer: Sequence[Any], given: Sequence[Any]) -> bool:
    """Whether ``given`` (option indexes, or one text per blank) matches the version's answer."""
    if kind == "blank":
        if len(given) != len(answer):
            return False
        return all(normalized(str(text)) in {normalized(str(accepted)) for accepted in accepted_list}
                   for text, accepted_list in zip(given, answer, strict=True))
    try:
        return sorted({int(value) for value in given}) == sorted(int(value) for value in answer)
    except (TypeError, ValueError):
        return False


def check(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The content's errors as (field, code): an empty list when the question may be saved."""
    errors: list[tuple[str, str]] = []
    code, kind, text = data.get("code") or "", data.get("kind"), data.get("text") or ""
    if not code:
        errors.append(("code", "code_missing"))
    elif len(code) > 40:
        errors.append(("code", "code_long"))
    if kind not in KIND_LABELS:
        errors.append(("kind", "kind_invalid"))
    if not text.strip():
        errors.append(("text", "text_missing"))
    elif len(text) > 2000:
        errors.append(("text", "text_long"))
    if len(data.get("explanation") or "") > 2000:
        errors.append(("explanation", "explanation_long"))
    if data.get("difficulty") not in DIFFICULTY_LABELS:
        errors.append(("difficulty", "difficulty_invalid"))
    tags = data.get("tags") or []
    if len(tags) > 5 or any(len(tag) > 30 for tag in tags):
        errors.append(("tags", "tags_long"))
    if kind in KIND_LABELS:
        errors.extend(_answer_errors(kind, data.get("options") or [], data.get("answer")))
    return errors


def _answer_errors(kind: str, options: list[str], answer: Any) -> list[tuple[str, str]]:
    if answer is None:  # the reader could not make sense of it
        return [("answer", "true_false_invalid" if kind == "true_false" else "answer_invalid")]
    if not answer:
        return [("answer", "answer_missing")]
    if kind == "blank":
        filled = all(any(str(text).strip() for text in blank) for blank in answer)
        return [] if filled else [("answer", "answer_missing")]
    count = 2 if kind == "true_false" else len(options)
    errors = []
    if kind in ("single", "multiple") and (count < 2 or any(not option.strip() for option in options)):
        errors.append(("options", "options_few"))
    elif count > MAX_OPTIONS:
        errors.append(("options", "options_many"))
    if any(not isinstance(index, int) or not 0 <= index < count for index in answer):
        errors.append(("answer", "answer_invalid"))
    elif kind in ("single", "true_false") and len(answer) != 1:
        errors.append(("answer", "answer_single"))
    return errors


def message(code: str, row: int | None = None) -> str:
    text = str(ERRORS[code])
    return text % {"row": row} if row is not None and "%(row)d" in text else text


def same_content(version: Any, data: dict[str, Any]) -> bool:
    """Whether ``data`` says what ``version`` already says (a re-import of it changes nothing; content
    without an image named, as an import row, keeps the version's image)."""
    return (version.kind, version.text, list(version.options), list(version.answer), version.explanation,
            version.difficulty, list(version.tags), version.image_key, version.image_alt) == (
        data["kind"], data["text"], list(data["options"]), list(data["answer"]), data["explanation"],
        data["difficulty"], list(data["tags"]), data.get("image_key", version.image_key),
        data.get("image_alt", version.image_alt))

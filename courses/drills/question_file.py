"""Question files (XLSX, CSV): the template, reading rows into question content, and the export (which
reads back unchanged). Columns: code, type, text, options A–F, answer, explanation, difficulty, tags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from classroom import uploads
from classroom.exports import FORMULA_STARTS, xlsx_bytes
from classroom.spreadsheets import read_sheet
from courses.drills.content import LETTERS, MAX_OPTIONS

COLUMNS = ("code", "kind", "text", *(f"option_{letter}" for letter in LETTERS[:MAX_OPTIONS]), "answer",
           "explanation", "difficulty", "tags")
HEADER = ("题目编号", "题型", "题干", *(f"选项{letter}" for letter in LETTERS[:MAX_OPTIONS]), "答案", "解析", "难度",
          "知识点")
ALIASES = {"code": {"题目编号", "编号", "试题编号", "code"}, "kind": {"题型", "类型", "type", "kind"},
           "text": {"题干", "题目", "question", "text"}, "answer": {"答案", "正确答案", "answer"},
           "explanation": {"解析", "答案解析", "explanation"}, "difficulty": {"难度", "difficulty"},
           "tags": {"知识点", "标签", "tags", "knowledge points"}}
for _letter in LETTERS[:MAX_OPTIONS].lower():
    ALIASES[f"option_{_letter.upper()}"] = {f"选项{_letter}", _letter, f"option {_letter}"}
KIND_WORDS = {"single": "single", "单选": "single", "单选题": "single", "multiple": "multiple", "多选": "multiple",
              "多选题": "multiple", "true_false": "true_false", "判断": "true_false", "判断题": "true_false",
              "blank": "blank", "填空": "blank", "填空题": "blank"}
KIND_NAMES = {"single": "单选", "multiple": "多选", "true_false": "判断", "blank": "填空"}
TRUE_WORDS, FALSE_WORDS = {"对", "正确", "t", "true", "√", "是", "y"}, {"错", "错误", "f", "false", "×", "否", "n"}
DIFFICULTY_WORDS = {"1": 1, "易": 1, "简单": 1, "easy": 1, "2": 2, "中": 2, "中等": 2, "medium": 2, "3": 3, "难": 3,
                    "困难": 3, "hard": 3}
TAG_SPLIT = re.compile(r"[,，;；、]")
BLANK_SPLIT = re.compile(r"[;；]")
ALTERNATIVE_SPLIT = re.compile(r"[|｜]")
SAMPLE = [["ELEC-0001", "单选", "安全电压的上限一般为多少伏？", "12", "24", "36", "48", "", "", "C",
           "一般环境下安全电压上限为36伏。", "易", "安全用电"],
          ["ELEC-0002", "判断", "带电作业时可以不戴绝缘手套。", "", "", "", "", "", "", "错",
           "必须佩戴绝缘防护用品。", "易", "安全用电"],
          ["ELEC-0003", "填空", "我国工频交流电的频率为____赫兹。", "", "", "", "", "", "", "50|五十", "", "中",
           "电工基础"]]


def template_bytes() -> bytes:
    return xlsx_bytes("题库导入模板", HEADER, SAMPLE)


def cell_text(value: Any) -> str:
    """A cell as text: numbers without ".0", spaces trimmed, the export's formula guard undone."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip(" \t\r\n\u3000\ufeff")
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def read_rows(source: bytes, fmt: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number in the file, {column: text}) for every non-empty data row; a header row maps columns."""
    mapping: list[str | None] | None = None
    for number, values in enumerate(read_sheet(source, fmt, uploads.limits()), start=1):
        cells = [cell_text(value) for value in values]
        if not any(cells):
            continue
        if mapping is None:
            found = [next((column for column, names in ALIASES.items() if cell.lower() in names), None)
                     for cell in cells]
            mapping = list(COLUMNS)
            if "code" in found and "text" in found:
                mapping = found
                continue
        yield number, {column: cell for column, cell in zip(mapping, cells, strict=False) if column}


def parse_answer(kind: str | None, text: str) -> list[Any] | None:
    """The answer cell as stored: option indexes, or accepted texts per blank; None when unreadable."""
    if kind == "blank":
        return [[part.strip() for part in ALTERNATIVE_SPLIT.split(blank) if part.strip()]
                for blank in BLANK_SPLIT.split(text) if blank.strip()]
    if kind == "true_false":
        word = text.strip().lower()
        return [0] if word in TRUE_WORDS else [1] if word in FALSE_WORDS else None if word else []
    letters = re.sub(r"[\s,，、;；]", "", text.upper())
    if any(letter not in LETTERS for letter in letters):
        return None
    return sorted({LETTERS.index(letter) for letter in letters})


def row_content(cells: dict[str, str]) -> dict[str, Any]:
    """A row's question content, as the checks (``content.check``) read it."""
    kind = KIND_WORDS.get(cells.get("kind", "").strip().lower())
    options = [cells.get(f"option_{letter}", "") for letter in LETTERS[:MAX_OPTIONS]]
    while options and not options[-1]:
        options.pop()
    tags = list(dict.fromkeys(tag.strip() for tag in TAG_SPLIT.split(cells.get("tags", "")) if tag.strip()))
    return {"code": cells.get("code", ""), "kind": kind, "text": cells.get("text", ""),
            "options": options if kind in ("single", "multiple") else [],
            "answer": parse_answer(kind, cells.get("answer", "")), "explanation": cells.get("explanation", ""),
            "difficulty": DIFFICULTY_WORDS.get(cells.get("difficulty", "").strip().lower() or "2", 0), "tags": tags}


def export_row(question: Any, version: Any) -> list[Any]:
    options = list(version.options) + [""] * (MAX_OPTIONS - len(version.options))
    if version.kind == "blank":
        answer = "；".join("|".join(blank) for blank in version.answer)
    elif version.kind == "true_false":
        answer = "对" if version.answer == [0] else "错"
    else:
        answer = "".join(LETTERS[index] for index in version.answer)
    return [question.code, KIND_NAMES[version.kind], version.text, *options[:MAX_OPTIONS], answer,
            version.explanation, str(version.difficulty), "、".join(version.tags)]


def export_bytes(title: str, rows: list[list[Any]]) -> bytes:
    return xlsx_bytes(title or "题库", HEADER, rows)

"""Reading member-import files: CSV (UTF-8 with or without BOM, else GB18030) and XLSX, within the
upload limits (classroom/spreadsheets.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from classroom import uploads
from classroom.domain import Invalid
from classroom.exports import FORMULA_STARTS
from classroom.spreadsheets import inspect_sheet, read_sheet

COLUMNS = ("name", "mobile", "employer", "trade", "skill_level", "worker_group", "union")
COLUMN_LABELS = {
    "name": _l("Name"), "mobile": _l("Mobile"), "employer": _l("Employer"), "trade": _l("Trade"),
    "skill_level": _l("Skill level"), "worker_group": _l("Worker group"), "union": _l("Grassroots union"),
}
HEADER_ALIASES = {
    "name": {"姓名", "name", "real name", "real_name", "名字"},
    "mobile": {"手机", "手机号", "手机号码", "mobile", "mobile number", "phone", "电话", "联系电话"},
    "employer": {"单位", "工作单位", "employer", "企业", "所在单位"},
    "trade": {"工种", "trade", "职业"},
    "skill_level": {"技能等级", "等级", "skill level", "skill_level", "level", "职业技能等级"},
    "worker_group": {"群体", "职工群体", "worker group", "worker_group", "group", "新就业形态群体"},
    "union": {"基层工会", "工会", "所属工会", "union", "grassroots union", "union code", "工会代码", "工会编码"},
}
EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx"}
SPACES = " \t\r\n\u3000\ufeff"


@dataclass(slots=True)
class ImportRow:
    """One data row of the file as text; ``number`` is its row number in the file (1 = first line)."""

    number: int
    name: str = ""
    mobile: str = ""
    employer: str = ""
    trade: str = ""
    skill_level: str = ""
    worker_group: str = ""
    union: str = ""


def file_format(filename: str) -> str:
    """"csv" or "xlsx" by the file's extension; Invalid otherwise."""
    fmt = EXTENSIONS.get(Path(filename or "").suffix.lower())
    if fmt is None:
        raise Invalid(_l("Upload a CSV or XLSX file."), field="file")
    return fmt


def check_content(path: Path, fmt: str) -> None:
    """The content matches the extension: an XLSX is a zip; a CSV is text."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if fmt == "xlsx" and head[:4] != b"PK\x03\x04":
        raise Invalid(_l("This file is not an XLSX workbook."), field="file")
    if fmt == "csv" and b"\x00" in head:
        raise Invalid(_l("This file is not a CSV text file."), field="file")


def count_rows(path: Path, fmt: str) -> int:
    """How many rows the file has, once every upload limit is checked (LimitExceeded otherwise):
    cheap enough for the upload request, and nothing of the file is kept."""
    return inspect_sheet(path, fmt, uploads.limits())


def read_rows(path: Path, fmt: str) -> list[ImportRow]:
    """The data rows, mapped by the header row when there is one, else in the documented order;
    LimitExceeded as soon as the file passes an upload limit."""
    rows: list[ImportRow] = []
    mapping: list[str | None] | None = None
    for number, values in enumerate(read_sheet(path, fmt, uploads.limits()), start=1):
        values = [_clean(value) for value in values]
        if not any(values):
            continue
        if mapping is None:
            mapping = _header_mapping(values)
            if mapping is not None:
                continue
            mapping = list(COLUMNS)
        row = ImportRow(number)
        for column, value in zip(mapping, values, strict=False):
            if column:
                setattr(row, column, value)
        rows.append(row)
    return rows


def _header_mapping(values: list[str]) -> list[str | None] | None:
    found = [next((column for column, aliases in HEADER_ALIASES.items() if value.lower() in aliases), None)
             for value in values]
    return found if "name" in found and "mobile" in found else None


def _clean(value) -> str:
    """Cell text: numbers without ".0", spaces trimmed, our own export's formula guard undone."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip(SPACES)
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return text

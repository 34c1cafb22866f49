"""Importing scores from a sheet (XLSX, or CSV in UTF-8 or GB18030): the header names the columns
that identify an entry (its number 编号, a member's mobile 手机号, or the name 姓名 of a person or team)
and one column per round, headed with the round's name. Every row must be right, or nothing is
recorded. The sheet to fill in is headed in its reader's language; the import knows the headers in
every language the site speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from classroom import uploads
from classroom.accounts.models import User
from classroom.domain import Invalid
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.personal_data import normalize_mobile
from classroom.spreadsheets import read_sheet
from courses.competitions.models import CompetitionEvent, Entry, EntryMember, EntryStatus, MemberStatus
from courses.competitions.results import parse_points, record_scores, require_scoring

MAX_ROWS = 5000
# The key columns of the sheet to fill in (translated: 编号 / 姓名 / 手机号), then one column per round.
ENTRY_COLUMN, NAME_COLUMN, MOBILE_COLUMN = _l("Entry"), _l("Name"), _l("Mobile")
# Other headers people type for them, besides the translations of the three above.
MOBILE_HEADERS = {"mobile", "手机号", "手机", "手机号码"}
NAME_HEADERS = {"name", "姓名", "team", "队名", "团队"}
ENTRY_HEADERS = {"entry", "编号", "参赛编号"}


@dataclass(frozen=True)
class ImportResult:
    """What an import did: how many scores changed, or (nothing recorded) what is wrong with the sheet."""

    changed: int = 0
    errors: list = field(default_factory=list)


def sheet_header(stages) -> list[str]:
    """The header of the sheet to fill in, in the reader's language."""
    return [str(ENTRY_COLUMN), str(NAME_COLUMN), str(MOBILE_COLUMN), *[stage.name for stage in stages]]


def _known(column, synonyms: set[str]) -> set[str]:
    """The header texts that mean ``column``: its text in every language of the site, and the synonyms."""
    texts = set(synonyms)
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            texts.add(str(column).strip().lower())
    return texts


def _sheet_rows(filename: str, data: bytes) -> list[list[str]]:
    """The sheet's rows as text, read within the upload limits (at most MAX_ROWS rows, the header included)."""
    fmt = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    return [["" if cell is None else str(cell).strip() for cell in row]
            for row in read_sheet(data, fmt, uploads.limits(rows=MAX_ROWS), active=True)]


def import_scores(event: CompetitionEvent, filename: str, data: bytes, *, actor, now: datetime) -> ImportResult:
    """Scores from a sheet whose header names a mobile and/or name column and one column per round
    (by the round's name). Every row must be right, or nothing is recorded (the result lists the
    errors)."""
    competition = require_scoring(event, actor)
    try:
        rows = _sheet_rows(filename or "", data)
    except uploads.LimitExceeded as error:
        return ImportResult(errors=[str(error)])
    except Exception:  # noqa: BLE001 - any unreadable file is one clear error
        return ImportResult(errors=[_l("The file could not be read: use XLSX, or CSV in UTF-8 or GB18030.")])
    if not rows:
        return ImportResult(errors=[_l("The file is empty.")])
    header, body = [cell.lower() for cell in rows[0]], rows[1:]
    stages = {stage.name.strip().lower(): stage.id for stage in competition.stages}
    columns = {index: stages[name] for index, name in enumerate(header) if name in stages}
    known = (_known(ENTRY_COLUMN, ENTRY_HEADERS), _known(MOBILE_COLUMN, MOBILE_HEADERS),
             _known(NAME_COLUMN, NAME_HEADERS))
    keys = [next((i for i, name in enumerate(header) if name in names), None) for names in known]
    if not columns or keys == [None, None, None]:
        # 第一行为表头：%(entry)s、%(mobile)s或%(name)s，其后每个赛程一列，以赛程名称为列名。
        return ImportResult(errors=[_l("The first row names the columns: %(entry)s, %(mobile)s or %(name)s, and "
                                       "one column per round with the round's name.", entry=ENTRY_COLUMN,
                                       mobile=MOBILE_COLUMN, name=NAME_COLUMN)])
    scores, errors = _read_score_rows(event, body, columns, keys)
    if errors:
        return ImportResult(errors=errors)
    return ImportResult(changed=record_scores(event, scores, actor=actor, now=now))


def _entry_lookup(event: CompetitionEvent) -> tuple[dict[str, int], dict[str, list[int]], set[int]]:
    """({mobile of any member: entry id}, {name of a person or team: [entry ids]}, entry ids) of the
    event's confirmed entries."""
    by_mobile: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    ids: set[int] = set()
    rows = db.session.execute(
        select(Entry.id, Entry.team_name, User.real_name, User.mobile)
        .join(EntryMember, EntryMember.entry_id == Entry.id).join(User, User.id == EntryMember.user_id)
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.CONFIRMED,
               EntryMember.status == MemberStatus.ACCEPTED))
    for entry_id, team_name, real_name, mobile in rows:
        ids.add(entry_id)
        if mobile:
            by_mobile[mobile] = entry_id
        for name in (team_name, real_name):
            if name is None:
                continue
            known = by_name.setdefault(name.strip().lower(), [])
            if entry_id not in known:
                known.append(entry_id)
    return by_mobile, by_name, ids


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _read_score_rows(event: CompetitionEvent, body: list[list[str]], columns: dict[int, int],
                     keys: list[int | None]) -> tuple[dict[int, dict[int, Decimal]], list]:
    lookup = _entry_lookup(event)
    scores: dict[int, dict[int, Decimal]] = {}
    errors: list = []
    for number, row in enumerate(body, start=2):
        given = [_cell(row, index) for index in keys]
        if not any(given) and not any(_cell(row, index) for index in columns):
            continue
        entry_id, problem = _identify(given[0], given[1], given[2], *lookup)
        if entry_id is not None and entry_id in scores:
            entry_id, problem = None, _l("appears twice")
        parsed, bad_score = _row_scores(row, columns)
        problem = problem or bad_score
        if entry_id is None or problem is not None:
            errors.append(_l("Row %(row)d: %(problem)s", row=number, problem=problem))
        else:
            scores[entry_id] = parsed
    return scores, errors


def _row_scores(row: list[str], columns: dict[int, int]) -> tuple[dict[int, Decimal], str | None]:
    parsed = {}
    for index, stage_id in columns.items():
        try:
            value = parse_points(_cell(row, index))
        except Invalid as error:
            return {}, str(error)
        if value is not None:
            parsed[stage_id] = value
    return parsed, None


def _identify(number: str, mobile: str, name: str, by_mobile: dict[str, int], by_name: dict[str, list[int]],
              ids: set[int]) -> tuple[int | None, object]:
    """The entry a row means: by its number, else by a member's mobile, else by a unique name."""
    if number:
        entry_id = parse_id(number)
        if entry_id not in ids:
            return None, _l("%(number)s is not a confirmed entry of this event", number=number)
        if name and entry_id not in by_name.get(name.lower(), []):
            return None, _l("the name %(name)s does not match entry %(number)s", name=name, number=number)
        return entry_id, None
    mobile = normalize_mobile(mobile)
    if mobile:
        entry_id = by_mobile.get(mobile)
        if entry_id is None:
            return None, _l("%(mobile)s is not in a confirmed entry of this event", mobile=mobile)
        if name and entry_id not in by_name.get(name.lower(), []):
            return None, _l("the name %(name)s does not match %(mobile)s", name=name, mobile=mobile)
        return entry_id, None
    found = by_name.get(name.lower(), [])
    if len(found) != 1:
        return None, (_l("no confirmed entry is called %(name)s", name=name) if not found else
                      _l("several entries are called %(name)s: add the mobile number", name=name))
    return found[0], None

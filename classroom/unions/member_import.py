"""Member import: validate every row in bulk, then write all of it in one transaction.

The rules: a row names a grassroots union in the importer's subtree (by name or code; a
grassroots importer may leave it empty). A mobile that belongs to a person outside that subtree
is an error, never an update. People in scope are updated where the file gives a value; new
people are created with an active membership and an invitation (no password hash is computed).
Running the same file twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select

from classroom.accounts.models import WORKER_GROUPS, Invitation, User
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.personal_data import is_mobile, normalize_mobile
from classroom.unions.import_files import ImportRow
from classroom.unions.models import IN_SCOPE_STATUSES, Membership, MembershipStatus, TradeUnion, UnionKind

CHUNK = 1000
PROFILE = ("real_name", "employer", "trade", "skill_level", "worker_group")
Progress = Callable[[str, int, int], None]

ERRORS = {
    "name_missing": _l("The name is missing."),
    "name_long": _l("The name is longer than 50 characters."),
    "mobile_invalid": _l("Not an 11-digit mainland mobile number."),
    "mobile_duplicate": _l("The same mobile number is on row %(row)d."),
    "mobile_out_of_scope": _l("This mobile number belongs to a person outside your unions: not changed."),
    "union_missing": _l("Name the grassroots union (its name or code)."),
    "union_unknown": _l("No union has this name or code."),
    "union_out_of_scope": _l("This union is outside your scope."),
    "union_ambiguous": _l("Several unions have this name: use the code."),
    "union_not_grassroots": _l("Members belong to a grassroots union; this one is not."),
    "level_invalid": _l("Skill level: 1 to 5, or 五级/初级工 … 一级/高级技师."),
    "group_invalid": _l("Unknown worker group."),
    "employer_long": _l("The employer is longer than 100 characters."),
    "trade_long": _l("The trade is longer than 50 characters."),
}
LEVEL_WORDS = {"五级": 5, "初级工": 5, "初级": 5, "四级": 4, "中级工": 4, "中级": 4, "三级": 3, "高级工": 3,
               "高级": 3, "二级": 2, "技师": 2, "一级": 1, "高级技师": 1}
GROUP_WORDS = {"货车司机": "truck_driver", "快递员": "courier", "护工护理员": "caregiver", "护工": "caregiver",
               "护理员": "caregiver", "家政服务员": "domestic", "商场信息员": "mall_info",
               "网约送餐员": "food_delivery", "外卖骑手": "food_delivery",
               "房产中介员": "realty_agent", "保安员": "security_guard",
               "网约车司机": "ride_hailing", "农民工": "migrant"}


@dataclass(slots=True)
class RowError:
    row: int
    field: str
    code: str
    other_row: int | None = None

    @property
    def message(self) -> str:
        """The error as the page shows it."""
        text = str(ERRORS[self.code])
        return text % {"row": self.other_row} if self.other_row else text


class ImportRejected(DomainError):
    message = _l("The file has errors: nothing was imported.")

    def __init__(self, errors: list[RowError]):
        super().__init__()
        self.errors = errors


@dataclass(slots=True)
class Action:
    """What one valid row does: create a person, or change (or leave) an existing one."""

    row: int
    mobile: str
    values: dict
    union_id: int
    user_id: int | None = None
    changes: dict = field(default_factory=dict)
    membership: str | None = None  # "new" or "activate"
    activate_id: int | None = None
    transfer_id: int | None = None
    invite: bool = True  # new people always; existing ones without a password or live invitation

    @property
    def kind(self) -> str:
        """"create", "update" or "unchanged"."""
        if self.user_id is None:
            return "create"
        return "update" if self.changes or self.membership or self.invite else "unchanged"


@dataclass
class Plan:
    total: int
    errors: list[RowError]
    actions: list[Action]

    def count(self, kind: str) -> int:
        """How many rows do this kind of change."""
        return sum(1 for action in self.actions if action.kind == kind)


# ---- reading the cells ------------------------------------------------------------------

def parse_level(text: str) -> int | None:
    """"3", "Level 3", "三级", "高级工", "三级/高级工" → 3; "" → None; anything else → ValueError."""
    text = text.strip()
    if not text:
        return None
    for part in re.split(r"[/／·、\s]+", text):
        if part in LEVEL_WORDS:
            return LEVEL_WORDS[part]
    digits = re.fullmatch(r"(?:level\s*)?([1-5])(?:级)?", text.lower())
    if digits:
        return int(digits.group(1))
    raise ValueError(text)


def group_aliases() -> dict[str, str]:
    """Worker-group keys, Chinese names and English labels → key."""
    aliases = {key: key for key in WORKER_GROUPS} | dict(GROUP_WORDS)
    for locale in ("en", "zh_CN"):
        with force_locale(locale):
            aliases |= {str(label).lower(): key for key, label in WORKER_GROUPS.items()}
    return aliases


def _check_fields(row: ImportRow, groups: dict[str, str], errors: list[RowError]) -> dict:
    values: dict = {"real_name": row.name or None, "employer": row.employer or None, "trade": row.trade or None}
    for name, column, limit, code in (("real_name", "name", 50, "name_long"),
                                      ("employer", "employer", 100, "employer_long"),
                                      ("trade", "trade", 50, "trade_long")):
        if values[name] and len(values[name]) > limit:
            errors.append(RowError(row.number, column, code))
    if not row.name:
        errors.append(RowError(row.number, "name", "name_missing"))
    try:
        values["skill_level"] = parse_level(row.skill_level)
    except ValueError:
        errors.append(RowError(row.number, "skill_level", "level_invalid"))
    values["worker_group"] = None
    if row.worker_group:
        values["worker_group"] = groups.get(row.worker_group.lower())
        if values["worker_group"] is None:
            errors.append(RowError(row.number, "worker_group", "group_invalid"))
    return values


# ---- validation -------------------------------------------------------------------------

def validate(rows: list[ImportRow], scope: TradeUnion, *, now: datetime, progress: Progress | None = None) -> Plan:
    """Check every row (a handful of queries per thousand rows) and plan the writes."""
    errors: list[RowError] = []
    unions = _resolve_unions(rows, scope)
    groups = group_aliases()
    first_row: dict[str, int] = {}
    actions: list[Action] = []
    for start in range(0, len(rows), CHUNK):
        candidates = []
        for row in rows[start:start + CHUNK]:
            row_errors: list[RowError] = []
            values = _check_fields(row, groups, row_errors)
            union_id = _union_for(row, scope, unions, row_errors)
            mobile = _check_mobile(row, first_row, row_errors)
            errors.extend(row_errors)
            if not row_errors and union_id is not None:  # a row without its union has an error
                candidates.append(Action(row.number, mobile, values, union_id))
        outsiders = _match_people(candidates, scope, now=now)
        errors.extend(outsiders)
        failed = {error.row for error in outsiders}
        actions.extend(action for action in candidates if action.row not in failed)
        if progress:
            progress("validating", min(len(rows), start + CHUNK), len(rows))
    errors.sort(key=lambda error: (error.row, error.field))
    return Plan(len(rows), errors, actions)


def _check_mobile(row: ImportRow, first_row: dict[str, int], errors: list[RowError]) -> str:
    mobile = normalize_mobile(row.mobile)
    if not is_mobile(mobile):
        errors.append(RowError(row.number, "mobile", "mobile_invalid"))
    elif mobile in first_row:
        errors.append(RowError(row.number, "mobile", "mobile_duplicate", first_row[mobile]))
    else:
        first_row[mobile] = row.number
    return mobile


def _resolve_unions(rows: list[ImportRow], scope: TradeUnion) -> dict[str, list[TradeUnion]]:
    """Every union the file names, by code (case aside) or else by name, in one query."""
    keys = {row.union for row in rows if row.union}
    if not keys:
        return {}
    codes = keys | {key.upper() for key in keys}
    found = db.session.scalars(select(TradeUnion).where(or_(TradeUnion.code.in_(codes), TradeUnion.name.in_(keys))))
    by_code: dict[str, TradeUnion] = {}
    by_name: dict[str, list[TradeUnion]] = defaultdict(list)
    for union in found:
        if union.code:
            by_code[union.code] = union
        by_name[union.name].append(union)
    return {key: [by_code[key]] if key in by_code else [by_code[key.upper()]] if key.upper() in by_code
            else by_name.get(key, []) for key in keys}


def _union_for(row: ImportRow, scope: TradeUnion, unions: dict, errors: list[RowError]) -> int | None:
    if not row.union:
        if scope.kind == UnionKind.GRASSROOTS:
            return scope.id
        errors.append(RowError(row.number, "union", "union_missing"))
        return None
    found = unions.get(row.union, [])
    inside = [union for union in found if union.path.startswith(scope.path)]
    code = ("union_unknown" if not found else "union_out_of_scope" if not inside
            else "union_ambiguous" if len(inside) > 1
            else "union_not_grassroots" if inside[0].kind != UnionKind.GRASSROOTS else None)
    if code:
        errors.append(RowError(row.number, "union", code))
        return None
    return inside[0].id


def _match_people(candidates: list[Action], scope: TradeUnion, *, now: datetime) -> list[RowError]:
    """Find who exists among one chunk's rows (one query) and plan each row's change."""
    errors: list[RowError] = []
    people = _existing(candidates, now=now) if candidates else {}
    for action in candidates:
        person = people.get(action.mobile)
        if person is not None and not _plan_existing(action, person, scope):
            errors.append(RowError(action.row, "mobile", "mobile_out_of_scope"))
    return errors


def _existing(chunk: list[Action], *, now: datetime) -> dict[str, dict]:
    live_invitation = exists().where(Invitation.user_id == User.id, Invitation.used_at.is_(None),
                                     Invitation.expires_at > now)
    rows = db.session.execute(
        select(User.id, User.mobile, User.real_name, User.employer, User.trade, User.skill_level, User.worker_group,
               User.password_hash.is_not(None), live_invitation, Membership.id, Membership.status,
               Membership.union_id, TradeUnion.path)
        .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.status.in_(IN_SCOPE_STATUSES)))
        .outerjoin(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(User.mobile.in_([action.mobile for action in chunk]))
    ).all()
    people: dict[str, dict] = {}
    for row in rows:
        mobile = cast(str, row[1])  # found by its mobile: never NULL
        person = people.setdefault(mobile, {"id": row[0], "profile": dict(zip(PROFILE, row[2:7], strict=True)),
                                            "can_log_in": bool(row[7]) or bool(row[8]), "memberships": []})
        if row[9] is not None:
            person["memberships"].append((row[9], row[10], row[11], row[12]))
    return people


def _plan_existing(action: Action, person: dict, scope: TradeUnion) -> bool:
    """Plan the change for a person found by mobile; False when they are outside the scope."""
    memberships = person["memberships"]
    inside = [m for m in memberships if m[3].startswith(scope.path)]
    if not inside or any(m[1] == MembershipStatus.ACTIVE and not m[3].startswith(scope.path) for m in memberships):
        return False
    action.user_id = person["id"]
    action.changes = {name: value for name, value in action.values.items()
                      if value is not None and value != person["profile"][name]}
    active = next((m for m in memberships if m[1] == MembershipStatus.ACTIVE), None)
    applied = next((m for m in memberships if m[1] == MembershipStatus.APPLIED), None)
    if active is None or active[2] != action.union_id:
        action.transfer_id = active[0] if active else None
        if applied is not None and applied[2] == action.union_id:
            action.membership, action.activate_id = "activate", applied[0]
        else:
            action.membership = "new"
    action.invite = not person["can_log_in"]
    return True

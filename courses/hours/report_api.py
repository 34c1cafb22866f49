"""/api/v1/unions/<id>/hours-report: the training-hours report of a union subtree for a period (a year,
quarter, month or custom range), its total and one row per child union: the report page's figures, from the
same services (courses.hours.reports), for an administrator of the union or a key with ``hours:read``."""

from __future__ import annotations

from typing import cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from classroom.api.problems import domain_problem
from classroom.api.reach import admin_union
from classroom.api.schemas import one_of, query_number
from classroom.api.spec import ApiBlueprint
from classroom.cache import TTLCache
from classroom.database import utcnow
from classroom.domain import DomainError, Invalid
from classroom.timefmt import local_date
from classroom.unions.models import TradeUnion
from courses.hours import reports

bp = ApiBlueprint("api_hours_report", __name__, url_prefix="/api/v1/unions",
                  description="Training-hours reports of a union subtree.")
PERIODS = ("year", "quarter", "month", "custom")
PARTS = {"quarter": 4, "month": 12}
report_cache = TTLCache(max_entries=512)  # as the page's: the same figures for every reader of a node


class ReportArgs(Schema):
    period = one_of(PERIODS, load_default="year")
    year = query_number(2000, 2100, metadata={"description": "Default: this year."})
    part = query_number(1, 12, metadata={"description": "The quarter (1–4) or month (1–12)."})
    start = fields.Date(metadata={"description": "First day of a custom range."})
    end = fields.Date(metadata={"description": "Last day of a custom range (at most three years after start)."})


class ReportUnionSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)


class ReportRowSchema(Schema):
    union = fields.Nested(ReportUnionSchema, required=True)
    minutes = fields.Integer(required=True, metadata={"description": "Training minutes earned in the period."})
    hours = fields.Float(required=True, metadata={"description": "The same in 学时 (minutes_per_hour each)."})
    workers = fields.Integer(required=True, metadata={"description": "People who earned hours in the period."})
    members = fields.Integer(required=True, metadata={"description": "Members at the end of the period."})
    meeting_target = fields.Integer(required=True,
                                    metadata={"description": "Members who met their union's annual target."})


class PeriodSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": list(PERIODS)})
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class HoursReportSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    minutes_per_hour = fields.Integer(required=True)
    total = fields.Nested(ReportRowSchema, required=True)
    children = fields.List(fields.Nested(ReportRowSchema), required=True,
                           metadata={"description": "One row per child union (its whole subtree), by name."})


@bp.route("/<int:union_id>/hours-report")
@bp.auth(scope="hours:read")
@bp.etag
@bp.arguments(ReportArgs, location="query")
@bp.response(200, HoursReportSchema)
def hours_report(args: dict, union_id: int):
    """The union subtree's training hours in a period: its total and each child union's."""
    node = admin_union(union_id)
    try:
        period = _period(args)
    except DomainError as error:
        raise domain_problem(error) from error
    key = (node.id, period.kind, period.start, period.end)
    return report_cache.get_or_set(key, current_app.config["REPORT_CACHE_SECONDS"], lambda: _report(node, period))


def _period(args: dict) -> reports.Period:
    """The period asked for (a quarter or month needs its number)."""
    kind, part = args["period"], args.get("part")
    if kind in PARTS and (part is None or part > PARTS[kind]):
        raise Invalid(_l("Give the quarter (1–4) or month (1–12) as part."), field="part")
    year = args.get("year") or local_date(utcnow()).year
    return reports.period_from(kind, year, part, args.get("start"), args.get("end"))


def _report(node: TradeUnion, period: reports.Period) -> dict:
    total, children = reports.union_breakdown(node, period)
    return {"period": {"kind": period.kind, "start": period.start, "end": period.end},
            "minutes_per_hour": current_app.config["MINUTES_PER_CREDIT_HOUR"],
            "total": _row(total), "children": [_row(row) for row in children]}


def _row(row: reports.Row) -> dict:
    union = cast(TradeUnion, row.union)  # union_breakdown names the union of every row
    return {"union": {"id": union.id, "name": union.name, "kind": union.kind}, "minutes": row.minutes,
            "hours": _hours(row.minutes), "workers": row.workers, "members": row.members,
            "meeting_target": row.meeting_target}


def _hours(minutes: int) -> float:
    return round(minutes / current_app.config["MINUTES_PER_CREDIT_HOUR"], 1)

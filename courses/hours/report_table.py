"""The report's table: the same rows on the page, in the chart and in the CSV/XLSX export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _

from classroom.accounts.models import WORKER_GROUPS, User
from classroom.extensions import db
from classroom.pagination import keyset_page
from classroom.personal_data import mask_mobile
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.queries import MEMBER_ORDER, member_key
from classroom.unions.scope import can_see_mobile
from courses.hours import reports
from courses.hours.models import SOURCE_LABELS, HoursSource
from courses.hours.queries import effective_targets


@dataclass
class ReportTable:
    kind: str  # unions / members / dimension
    header: list[str]
    total: reports.Row
    rows: list = field(default_factory=list)
    export_rows: list[list] = field(default_factory=list)
    chart: dict = field(default_factory=dict)
    page: object = None
    no_union_minutes: int | None = None
    exporter: Callable[[], list[list]] | None = None  # builds export_rows when asked (a member table's)

    def rows_for_export(self) -> list[list]:
        """Every row of the table for CSV/XLSX (not just the page shown)."""
        return self.exporter() if self.exporter is not None else self.export_rows


def _hours(minutes: int) -> float:
    return round(minutes / current_app.config["MINUTES_PER_CREDIT_HOUR"], 1)



def report_table(node: TradeUnion, period: reports.Period, by: str, *, viewer) -> ReportTable:
    """The report's rows for a node and period: its child unions, its members (a grassroots union) or a dimension."""
    if by != "union":
        return _dimension_table(node, period, by)
    if node.kind == UnionKind.GRASSROOTS:
        return _member_table(node, period, viewer)
    return _union_table(node, period, viewer)


def _union_table(node: TradeUnion, period: reports.Period, viewer) -> ReportTable:
    total, rows = reports.union_breakdown(node, period)
    header = [_("Union"), _("Training hours"), _("Workers with hours"), _("Members"),
              _("Hours per member"), _("Share meeting the target")]
    table = ReportTable("unions", header, total, rows)
    for row in [*rows, total]:
        table.export_rows.append([row.label, _hours(row.minutes), row.workers, row.members,
                                  _hours(round(row.average_minutes)), f"{row.target_share:.0%}"])
    table.chart = {"labels": [row.label for row in rows], "hours": [_hours(row.minutes) for row in rows]}
    if viewer.is_site_admin or node.parent_id is None:
        table.no_union_minutes = reports.no_union_minutes(period)
    return table


def _member_table(union: TradeUnion, period: reports.Period, viewer) -> ReportTable:
    """A grassroots union's members, a keyset page at a time (the export reads them all, only when asked)."""
    total, _children = reports.union_breakdown(union, period)
    page = keyset_page(reports.member_page_rows(union, period), MEMBER_ORDER, member_key, per_page=50)
    header, line = _member_line(union, viewer)
    table = ReportTable("members", header, total, page=page)
    table.rows = [(row.User, line(row.User, row.minutes)) for row in page.items]
    table.exporter = lambda: member_export(union, period, viewer)[1]
    top = sorted(table.rows, key=lambda item: -item[1][4])[:20]  # the page's most hours, for the chart
    table.chart = {"labels": [row[0] for _user, row in top], "hours": [row[4] for _user, row in top]}
    return table


def member_export(union: TradeUnion, period: reports.Period, viewer) -> tuple[list[str], list[list[object]]]:
    """The header and every row of a grassroots union's member table (the export, direct or queued)."""
    header, line = _member_line(union, viewer)
    return header, [line(user, minutes) for user, minutes in db.session.execute(reports.member_rows(union, period))]


def _member_line(union: TradeUnion, viewer) -> tuple[list[str], Callable[[User, int], list[object]]]:
    """The member table's header and its row maker (mobiles masked by the reader's rights)."""
    target = effective_targets([union])[union.id]
    show_mobile = can_see_mobile(viewer, union)
    header = [_("Name"), _("Mobile"), _("Employer"), _("Trade"), _("Training hours"), _("Meets the target")]

    def line(user: User, minutes: int) -> list[object]:
        met = _("yes") if target is not None and minutes >= target else (_("no") if target is not None else "—")
        mobile = user.mobile if show_mobile else mask_mobile(user.mobile)
        return [user.real_name, mobile or "", user.employer or "", user.trade or "", _hours(minutes), met]

    return header, line


def _dimension_table(node: TradeUnion, period: reports.Period, by: str) -> ReportTable:
    rows = reports.dimension_breakdown(node, period, by)
    header = [{"trade": _("Trade"), "group": _("Worker group"), "category": _("Course category"),
               "source": _("Source")}[by], _("Training hours"), _("Workers with hours")]
    total = reports.Row("total", node.name, minutes=sum(minutes for _value, minutes, _workers in rows))
    table = ReportTable("dimension", header, total)
    for value, minutes, workers in rows:
        label = _label(by, value)
        table.rows.append([label, _hours(minutes), "—" if workers is None else workers])
    table.export_rows = list(table.rows)
    table.chart = {"labels": [row[0] for row in table.rows], "hours": [row[1] for row in table.rows]}
    return table


def _label(by: str, value: str) -> str:
    if by == "group":
        return str(WORKER_GROUPS.get(value, value or _("None")))
    if by == "source" and value in set(HoursSource):
        return str(SOURCE_LABELS[HoursSource(value)])
    if by == "category" and value == "external":
        return _("External training")
    return value or _("Not set")



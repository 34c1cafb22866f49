"""Exports of the hours report: small ones are answered directly; large ones are built by a queue task.

What grows with a union is a grassroots union's member table (one row per member: tens of thousands in a
big employer); a union table has one row per child union and a dimension table one per trade, group,
category or source, so those stay small and direct. A member export of more than EXPORT_DIRECT_MAX_ROWS
rows becomes a ReportExport, which the task (``jobs.build_export``) builds: it reads the rows (from the
read replica when there is one), writes the file into storage under a key of the export's own and marks it
done in one commit. The file is downloaded only by the admin who asked, while the union is still in their
scope (``export_views``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from classroom import queue
from classroom.exports import csv_bytes, xlsx_bytes
from classroom.extensions import db
from classroom.unions.models import TradeUnion, UnionKind
from courses.hours import reports
from courses.hours.models import ExportStatus, ReportExport

TASK = "hours_report.export"
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def file_body(header: list, rows: list, kind: str) -> bytes:
    """The export's bytes: CSV (formulas neutralised) or XLSX (text cells)."""
    return csv_bytes(header, rows) if kind == "csv" else xlsx_bytes(_("Training hours"), header, rows)


def export_rows(node: TradeUnion, period: reports.Period, by: str) -> int:
    """How many rows the export of this table would have: a member table's count, else 0 (always small)."""
    if by != "union" or node.kind != UnionKind.GRASSROOTS:
        return 0
    members = reports.member_rows(node, period).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(members)) or 0


def is_large(rows: int) -> bool:
    """Whether an export of ``rows`` rows goes through the queue."""
    return rows > current_app.config["EXPORT_DIRECT_MAX_ROWS"]


def request_export(node: TradeUnion, period: reports.Period, by: str, kind: str, *, actor: Any, locale: str,
                   rows: int, stem: str, now: datetime) -> tuple[ReportExport, bool]:
    """The export to build for this admin: one already waiting with the same question (a second click), or
    a new one; and whether it is new (then the caller starts it once committed)."""
    waiting = db.session.scalar(select(ReportExport).where(
        ReportExport.requested_by_id == actor.id, ReportExport.union_id == node.id, ReportExport.by == by,
        ReportExport.period_kind == period.kind, ReportExport.period_start == period.start,
        ReportExport.period_end == period.end, ReportExport.file_format == kind, ReportExport.locale == locale,
        ReportExport.status.in_([ExportStatus.QUEUED, ExportStatus.RUNNING])).limit(1))
    if waiting is not None:
        return waiting, False
    export = ReportExport(union_id=node.id, requested_by_id=actor.id, by=by, period_kind=period.kind,
                          period_start=period.start, period_end=period.end, period_label=period.label[:40],
                          file_format=kind, locale=locale, rows=rows, filename=f"{stem}.{kind}", created_at=now)
    db.session.add(export)
    db.session.flush()
    return export, True


def start(export: ReportExport) -> None:
    queue.enqueue(TASK, export.id)


def progress_of(export: ReportExport) -> dict[str, Any]:
    """What the export's page and its poll show (the keys import.js reads)."""
    rows = export.rows or 0
    done = export.status == ExportStatus.DONE
    return {"status": export.status, "label": export.status_label, "processed": rows if done else 0,
            "total": rows, "percent": 100 if done else 0, "busy": export.is_busy}

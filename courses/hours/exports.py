"""Exports of the hours report: small ones are answered directly; large ones are built by a queue task.

What grows with a union is a grassroots union's member table (one row per member: tens of thousands in a
big employer); a union table has one row per child union and a dimension table one per trade, group,
category or source, so those stay small and direct. A member export of more than EXPORT_DIRECT_MAX_ROWS
rows becomes a ReportExport: the task reads the rows (from the read replica when there is one), writes the
file into storage under a key of the export's own and marks it done in one commit. A task killed before
that commit leaves the export to the retry, which writes the same key again: never two files, never one
marked done without its file. The file is downloaded only by the admin who asked, while the union is still
in their scope (``export_views``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from classroom import queue, replica
from classroom.accounts.models import User
from classroom.database import begin_write, utcnow
from classroom.exports import csv_bytes, xlsx_bytes
from classroom.extensions import db
from classroom.storage import storage
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.scope import admin_paths
from courses.hours import reports
from courses.hours.models import ExportStatus, ReportExport
from courses.hours.report_table import member_export, report_table

logger = logging.getLogger(__name__)
TASK = "hours_report.export"
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FAILED = _l("The export stopped on an unexpected error. Ask for it again from the report.")


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


def build(export_id: int) -> None:
    """The queue's task: build the file into storage and mark the export done, once."""
    try:
        _build(export_id)
    except Exception:
        logger.exception("hours report export %s failed", export_id)
        db.session.rollback()
        if queue.is_last_attempt():
            db.session.execute(update(ReportExport).where(ReportExport.id == export_id)
                               .values(status=ExportStatus.FAILED, message=str(FAILED), finished_at=utcnow()))
            db.session.commit()
        if not queue.is_eager():
            raise


def _build(export_id: int) -> None:
    begin_write(db.session)
    export = db.session.get(ReportExport, export_id)
    if export is None or export.status == ExportStatus.DONE:
        db.session.rollback()
        return
    export.status, export.started_at = ExportStatus.RUNNING, utcnow()
    db.session.commit()
    viewer, node = db.session.get_one(User, export.requested_by_id), export.union
    admin_paths(viewer)  # the reader's grants, loaded from the primary before the rows come from the replica
    period = reports.Period(export.period_kind, export.period_start, export.period_end, export.period_label)
    with force_locale(export.locale), replica.reads():
        if export.by == "union" and node.kind == UnionKind.GRASSROOTS:
            header, rows = member_export(node, period, viewer)
        else:
            table = report_table(node, period, export.by, viewer=viewer)
            header, rows = table.header, table.rows_for_export()
        body = file_body(header, rows, export.file_format)
    key = f"exports/hours-{export.id}.{export.file_format}"
    storage().put_bytes(key, body)  # a retry writes the same key: one file whatever happened before
    begin_write(db.session)
    db.session.execute(update(ReportExport).where(ReportExport.id == export_id).values(
        status=ExportStatus.DONE, storage_key=key, rows=len(rows), finished_at=utcnow(), message=None))
    db.session.commit()


def progress_of(export: ReportExport) -> dict[str, Any]:
    """What the export's page and its poll show (the keys import.js reads)."""
    rows = export.rows or 0
    done = export.status == ExportStatus.DONE
    return {"status": export.status, "label": export.status_label, "processed": rows if done else 0,
            "total": rows, "percent": 100 if done else 0, "busy": export.is_busy}

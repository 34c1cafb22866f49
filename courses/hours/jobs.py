"""The hours package's scheduled and queued work: recounting the people past a changed annual target, and
building a large report export into storage (``exports`` decides which exports are large and records them).
The export task owns its transactions: the export is marked running, the file is written under a key of the
export's own, and the export is marked done with its key in one commit; a run killed before that commit
leaves the export to the queue's retry, which writes the same key."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from classroom import queue, replica
from classroom.accounts.models import User
from classroom.database import begin_write, utcnow
from classroom.extensions import db
from classroom.storage import storage
from classroom.unions.models import UnionKind
from classroom.unions.scope import admin_paths
from courses.hours import exports, reports, rollups
from courses.hours.models import ExportStatus, ReportExport
from courses.hours.report_table import member_export, report_table

logger = logging.getLogger(__name__)
EXPORT_FAILED = _l("The export stopped on an unexpected error. Ask for it again from the report.")


def retarget(*, now: datetime) -> dict[str, int]:
    """The scheduled recount of the union-years whose annual target changed (``rollups.retarget``)."""
    begin_write(db.session)
    recounted = rollups.retarget()
    db.session.commit()
    return {"recounted": recounted}


def build_export(export_id: int) -> None:
    """The queue's task: build the file into storage and mark the export done, once."""
    try:
        _build_export(export_id)
    except Exception:
        logger.exception("hours report export %s failed", export_id)
        db.session.rollback()
        if queue.is_last_attempt():
            db.session.execute(update(ReportExport).where(ReportExport.id == export_id)
                               .values(status=ExportStatus.FAILED, message=str(EXPORT_FAILED), finished_at=utcnow()))
            db.session.commit()
        if not queue.is_eager():
            raise


def _build_export(export_id: int) -> None:
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
        body = exports.file_body(header, rows, export.file_format)
    key = f"exports/hours-{export.id}.{export.file_format}"
    storage().put_bytes(key, body)  # a retry writes the same key: one file whatever happened before
    begin_write(db.session)
    db.session.execute(update(ReportExport).where(ReportExport.id == export_id).values(
        status=ExportStatus.DONE, storage_key=key, rows=len(rows), finished_at=utcnow(), message=None))
    db.session.commit()

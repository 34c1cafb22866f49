"""Large hours-report exports built by the queue: their progress page and their download, for the admin
who asked while the union stays in their scope."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from classroom.extensions import db
from classroom.http import role_required
from classroom.storage import storage
from classroom.unions import scope
from courses.hours import exports
from courses.hours.models import ExportStatus, ReportExport

bp = Blueprint("hours_exports", __name__, url_prefix="/reports/hours/exports")
union_admin_required = role_required(scope.is_union_admin)


def export_or_404(export_id: int) -> ReportExport:
    """The export when the current admin asked for it and still manages its union; else a 404 (audited)."""
    export = db.session.get(ReportExport, export_id)
    if export is None or export.requested_by_id != current_user.id \
            or not scope.can_manage_union(current_user, export.union):
        scope.deny(current_user, "ReportExport", export_id)
    return export


@bp.route("/<int:export_id>")
@union_admin_required
def show(export_id: int) -> ResponseReturnValue:
    export = export_or_404(export_id)
    return render_template("hours/export.html", export=export, progress=exports.progress_of(export))


@bp.route("/<int:export_id>/progress.json")
@union_admin_required
def progress(export_id: int) -> ResponseReturnValue:
    return jsonify(exports.progress_of(export_or_404(export_id)))


@bp.route("/<int:export_id>/download")
@union_admin_required
def download(export_id: int) -> ResponseReturnValue:
    export = export_or_404(export_id)
    if export.status != ExportStatus.DONE or not export.storage_key:
        return render_template("hours/export.html", export=export, progress=exports.progress_of(export)), 409
    return storage().download(export.storage_key, export.filename, exports.MIMETYPES[export.file_format])

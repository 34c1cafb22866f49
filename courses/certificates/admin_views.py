"""Union admins: the certificates of their scope (filters, XLSX export), revocation and reissue, and
the skill-level certificates workers recorded, to verify or reject."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from classroom.database import begin_write, utcnow, writes
from classroom.extensions import db
from classroom.http import perform, role_required
from classroom.pagination import keyset_page
from classroom.timefmt import zone
from classroom.unions import scope
from courses.certificates import access, exports, queries, revocation, skills
from courses.certificates.downloads import attachment
from courses.certificates.forms import DecisionForm, RevokeForm
from courses.certificates.models import Certificate, SkillCertificateStatus

bp = Blueprint("admin", __name__, url_prefix="/certificates")
admin_required = role_required(scope.is_union_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/")
@admin_required
def index() -> ResponseReturnValue:
    filters = queries.CertificateFilters.from_args(request.args)
    page = keyset_page(queries.listing(current_user, filters, now=utcnow(), tz=zone(current_user.timezone)),
                       queries.LISTING_ORDER, queries.certificate_key, rows=False)
    return render_template("certificates/admin_index.html", page=page, filters=filters, now=utcnow(),
                           statuses=queries.STATUSES)


@bp.route("/export.xlsx")
@writes
@admin_required
def export() -> ResponseReturnValue:
    filters = queries.CertificateFilters.from_args(request.args)
    done = perform(lambda: exports.export_xlsx(current_user, filters, now=utcnow(), tz=zone(current_user.timezone)))
    if done.value is None:
        return redirect(url_for("certificates.admin.index"))
    return attachment(done.value[0], XLSX, "certificates.xlsx")


@bp.route("/<int:certificate_id>")
@admin_required
def detail(certificate_id: int) -> ResponseReturnValue:
    certificate = access.managed_or_404(certificate_id)
    return render_template("certificates/admin_detail.html", certificate=certificate, form=RevokeForm(),
                           now=utcnow())


@bp.route("/<int:certificate_id>/revoke", methods=["POST"])
@admin_required
def revoke(certificate_id: int) -> ResponseReturnValue:
    begin_write(db.session)
    certificate = access.managed_or_404(certificate_id)
    reason = RevokeForm().reason.data or ""
    perform(lambda: revocation.revoke(certificate, reason, actor=current_user, now=utcnow()),
            success=_("Certificate %(serial)s revoked.", serial=certificate.serial))
    return redirect(url_for("certificates.admin.detail", certificate_id=certificate_id))


@bp.route("/<int:certificate_id>/reissue", methods=["POST"])
@admin_required
def reissue(certificate_id: int) -> ResponseReturnValue:
    begin_write(db.session)
    certificate = access.managed_or_404(certificate_id)
    done = perform(lambda: revocation.reissue(certificate, actor=current_user, now=utcnow()), success=_reissued)
    shown = done.value.id if done.value is not None else certificate_id
    return redirect(url_for("certificates.admin.detail", certificate_id=shown))


def _reissued(replacement: Certificate) -> str:
    return _("Reissued as %(serial)s; the old number now shows as replaced.", serial=replacement.serial)


# ---- skill-level certificates recorded by workers -----------------------------------------------------

@bp.route("/skills")
@admin_required
def skill_list() -> ResponseReturnValue:
    status = request.args.get("status", SkillCertificateStatus.SUBMITTED)
    status = status if status in set(SkillCertificateStatus) else SkillCertificateStatus.SUBMITTED
    page = keyset_page(skills.listing(current_user, status), skills.LISTING_ORDER, skills.record_key, rows=False,
                       ascending=True)
    return render_template("certificates/admin_skills.html", page=page, status=status,
                           statuses=list(SkillCertificateStatus))


@bp.route("/skills/<int:record_id>/<any(verify, reject):decision>", methods=["POST"])
@admin_required
def decide_skill(record_id: int, decision: str) -> ResponseReturnValue:
    begin_write(db.session)
    row = access.managed_skill_record_or_404(record_id)
    verified, reason = decision == "verify", DecisionForm().reason.data or ""
    perform(lambda: skills.decide(row, verified=verified, reason=reason, actor=current_user, now=utcnow()),
            success=_("Verified: the worker's skill level is updated.") if verified
            else _("Rejected; the worker is told why."))
    return redirect(url_for("certificates.admin.skill_list"))

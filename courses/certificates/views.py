"""Certificates: the holder's pages and downloads; public verification (/verify) and the admins'
pages (/certificates) are nested blueprints of this one."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user, login_required

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import utcnow, writes
from classroom.extensions import db
from classroom.http import paginate, perform, public_base_url, public_url
from classroom.offline import offline_copy
from classroom.storage import storage
from classroom.unions import scope
from courses.certificates import access, admin_views, badges, kinds, queries, skills, verify_views
from courses.certificates.documents import document_date
from courses.certificates.downloads import attachment
from courses.certificates.forms import SkillCertificateForm
from courses.certificates.models import PUBLIC_STATUS_LABELS, ExternalSkillCertificate
from courses.certificates.pdf import certificate_pdf
from courses.certificates.sheet import sheet

bp = Blueprint("certificates", __name__)
bp.register_blueprint(verify_views.bp)
bp.register_blueprint(admin_views.bp)


@bp.app_template_global()
def certificate_status_label(status: str) -> str:
    """A public status (valid, expired, revoked, superseded) in the reader's language."""
    return str(PUBLIC_STATUS_LABELS.get(status, status))


bp.add_app_template_filter(document_date, "iso_date")
bp.add_app_template_global(kinds.kind_of, "certificate_kind")
bp.add_app_template_global(kinds.kind_title, "certificate_kind_title")
bp.add_app_template_global(kinds.headline, "certificate_headline")
bp.add_app_template_global(kinds.award_facts, "certificate_award")


# ---- the holder -------------------------------------------------------------------------------------

@bp.route("/me/certificates")
@login_required
@offline_copy
def mine() -> ResponseReturnValue:
    page = paginate(queries.mine(current_user.id))
    recorded = db.session.scalars(skills.mine(current_user.id)).all()
    return render_template("certificates/mine.html", page=page, recorded=recorded, now=utcnow())


@bp.route("/me/certificates/skills/new", methods=["GET", "POST"])
@login_required
def record_skill() -> ResponseReturnValue:
    form = SkillCertificateForm()
    if form.validate_on_submit() and perform(lambda: _record(form), form=form, field="number",
                                             success=_("Recorded. Your union will check it against the scan.")).ok:
        return redirect(url_for("certificates.mine"))
    return render_template("certificates/skill_form.html", form=form)


def _record(form: SkillCertificateForm) -> ExternalSkillCertificate:
    config, upload = current_app.config, form.file.data
    return skills.record(current_user, number=form.number.data, occupation=form.occupation.data,
                         level=form.level.data, evaluation_body=form.evaluation_body.data,
                         issued_on=form.issued_on.data, filename=upload.filename, stream=upload.stream,
                         now=utcnow(), folder=config["UPLOAD_FOLDER"], max_bytes=config["UPLOAD_MAX_BYTES"])


@bp.route("/certificates/<int:certificate_id>/pdf")
@writes
@login_required
def pdf(certificate_id: int) -> ResponseReturnValue:
    certificate, as_admin = access.readable_certificate(certificate_id)
    body = certificate_pdf(certificate, verify_url=public_url("certificates.verify.token", token=certificate.token),
                           base_url=public_base_url())
    if as_admin:
        perform(lambda: record_event(current_user, "certificate.downloaded", certificate,
                                     union_id=certificate.union_id))
    return attachment(body, "application/pdf", f"{certificate.serial}.pdf")


@bp.route("/certificates/<int:certificate_id>/view")
@login_required
def view(certificate_id: int) -> ResponseReturnValue:
    """The certificate as a page, for phones that cannot open its PDF (WeChat's in-app browser)."""
    certificate, _as_admin = access.readable_certificate(certificate_id)
    return render_template("certificates/view.html", certificate=certificate,
                           sheet=sheet(certificate, base_url=public_base_url()),
                           verify_url=public_url("certificates.verify.token", token=certificate.token))


@bp.route("/certificates/<int:certificate_id>/badge.jwt")
@writes
@login_required
def badge(certificate_id: int) -> ResponseReturnValue:
    """The holder's Open Badges 3.0 credential (theirs to share; admins have the PDF)."""
    certificate = access.own_certificate_or_404(certificate_id)
    token = badges.sign_credential(certificate, base_url=public_base_url())
    return attachment(token.encode("ascii"), badges.MEDIA_TYPE, f"{certificate.serial}.jwt")


@bp.route("/certificates/skills/<int:record_id>/scan")
@login_required
def scan(record_id: int) -> ResponseReturnValue:
    row = access.readable_scan_or_404(record_id)
    return storage().download(f"{skills.SCAN_FOLDER}/{row.scan_stored_name}", row.scan_name, row.scan_content_type)


# ---- the home page ------------------------------------------------------------------------------------

def home_section(user: User | AnonymousUserMixin) -> tuple[str, dict] | None:
    """The latest certificates of a worker; for admins, how many skill certificates wait."""
    if not user.is_authenticated:
        return None
    latest = queries.latest_valid(user.id, limit=3)
    waiting = skills.waiting(user) if scope.is_union_admin(user) else None
    if not latest and waiting is None:
        return None
    return "certificates/_home.html", {"latest_certificates": latest, "waiting_skill_certificates": waiting}

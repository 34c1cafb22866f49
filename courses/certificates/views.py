"""Certificates: the holder's pages and downloads; public verification (/verify) and the admins'
pages (/certificates) are nested blueprints of this one."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, send_from_directory, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from classroom.audit import record_event
from classroom.database import utcnow, writes
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, paginate, public_base_url, public_url
from classroom.unions import scope
from courses.certificates import (
    admin_views,
    badges,
    kinds,
    queries,
    services,  # noqa: F401 - connects the enrollment_completed receiver
    skills,
    verify_views,
)
from courses.certificates.forms import SkillCertificateForm
from courses.certificates.models import (
    PUBLIC_STATUS_LABELS,
    Certificate,
    CertificateStatus,
    ExternalSkillCertificate,
    SkillCertificateStatus,
)
from courses.certificates.pdf import certificate_pdf

bp = Blueprint("certificates", __name__)
bp.register_blueprint(verify_views.bp)
bp.register_blueprint(admin_views.bp)


@bp.app_template_filter("iso_date")
def iso_date(value: str | None, fmt: str = "medium") -> str:
    """A date kept as ISO text in a signed document, shown in the reader's language."""
    return format_date(date.fromisoformat(value), fmt) if value else ""


@bp.app_template_global()
def certificate_status_label(status: str) -> str:
    return str(PUBLIC_STATUS_LABELS.get(status, status))


bp.add_app_template_global(kinds.kind_of, "certificate_kind")
bp.add_app_template_global(kinds.kind_title, "certificate_kind_title")
bp.add_app_template_global(kinds.headline, "certificate_headline")
bp.add_app_template_global(kinds.award_facts, "certificate_award")


# ---- the holder -------------------------------------------------------------------------------------

@bp.route("/me/certificates")
@login_required
def mine():
    page = paginate(queries.mine(current_user.id))
    recorded = db.session.scalars(skills.mine(current_user.id)).all()
    return render_template("certificates/mine.html", page=page, recorded=recorded, now=utcnow())


@bp.route("/me/certificates/skills/new", methods=["GET", "POST"])
@login_required
def record_skill():
    form = SkillCertificateForm()
    if form.validate_on_submit():
        config = current_app.config
        try:
            skills.record(current_user, number=form.number.data, occupation=form.occupation.data,
                          level=form.level.data, evaluation_body=form.evaluation_body.data,
                          issued_on=form.issued_on.data, filename=form.file.data.filename, stream=form.file.data.stream,
                          now=utcnow(), folder=config["UPLOAD_FOLDER"], max_bytes=config["UPLOAD_MAX_BYTES"])
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="number")
        else:
            db.session.commit()
            flash(_("Recorded. Your union will check it against the scan."), "success")
            return redirect(url_for("certificates.mine"))
    return render_template("certificates/skill_form.html", form=form)


def readable_certificate(certificate_id: int) -> tuple[Certificate, bool]:
    """The certificate and whether an admin (not its holder) reads it; 404 (audited) otherwise."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is not None and certificate.user_id == current_user.id \
            and certificate.status == CertificateStatus.VALID:
        return certificate, False
    managed = queries.managed_certificate(current_user, certificate_id) if scope.is_union_admin(current_user) else None
    if managed is None:
        scope.deny(current_user, "Certificate", certificate_id)
    return managed, True


@bp.route("/certificates/<int:certificate_id>/pdf")
@writes
@login_required
def pdf(certificate_id: int):
    certificate, as_admin = readable_certificate(certificate_id)
    body = certificate_pdf(certificate, verify_url=public_url("certificates.verify.token", token=certificate.token),
                           base_url=public_base_url())
    if as_admin:
        record_event(current_user, "certificate.downloaded", certificate, union_id=certificate.union_id)
        db.session.commit()
    return _download(body, "application/pdf", f"{certificate.serial}.pdf")


@bp.route("/certificates/<int:certificate_id>/badge.jwt")
@writes
@login_required
def badge(certificate_id: int):
    """The holder's Open Badges 3.0 credential (theirs to share; admins have the PDF)."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != current_user.id or certificate.status != CertificateStatus.VALID:
        scope.deny(current_user, "Certificate", certificate_id)
    token = badges.sign_credential(certificate, base_url=public_base_url())
    return _download(token.encode("ascii"), badges.MEDIA_TYPE, f"{certificate.serial}.jwt")


def _download(body: bytes, mimetype: str, name: str):
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.route("/certificates/skills/<int:record_id>/scan")
@login_required
def scan(record_id: int):
    row = db.session.get(ExternalSkillCertificate, record_id)
    if row is None or row.user_id != current_user.id:
        row = db.session.scalar(skills.in_scope(current_user).where(ExternalSkillCertificate.id == record_id)) \
            if scope.is_union_admin(current_user) else None
    if row is None:
        scope.deny(current_user, "ExternalSkillCertificate", record_id)
    response = send_from_directory(skills.scan_folder(current_app.config["UPLOAD_FOLDER"]), row.scan_stored_name,
                                   mimetype=row.scan_content_type, as_attachment=True, download_name=row.scan_name)
    response.cache_control.private = True
    return response


# ---- the home page ------------------------------------------------------------------------------------

def home_section(user):
    """The latest certificates of a worker; for admins, how many skill certificates wait."""
    if not user.is_authenticated:
        return None
    latest = db.session.scalars(queries.mine(user.id).where(Certificate.status == CertificateStatus.VALID)
                                .limit(3)).all()
    pending = skills.in_scope(user).where(ExternalSkillCertificate.status == SkillCertificateStatus.SUBMITTED)
    waiting = db.session.scalar(select(func.count()).select_from(pending.subquery())) \
        if scope.is_union_admin(user) else None
    if not latest and waiting is None:
        return None
    return "certificates/_home.html", {"latest_certificates": latest, "waiting_skill_certificates": waiting}


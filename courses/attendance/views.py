"""Rosters (mark, print, export, paper upload, badge scan), self check-in, the worker's badge."""

from __future__ import annotations

import io

import segno
from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.exports import csv_bytes, xlsx_bytes
from classroom.extensions import db, limiter
from classroom.forms import arg_int, parse_id
from classroom.http import perform, perform_quietly, public_url
from classroom.offline import offline_copy
from classroom.pagination import keyset_page
from classroom.timefmt import local_date
from classroom.unions.scope import shown_mobiles
from courses.attendance import checkin as checkins
from courses.attendance import services as attendance
from courses.attendance.forms import BadgeForm, CheckinForm, RosterUploadForm
from courses.attendance.models import ATTENDANCE_LABELS, AttendanceStatus, SessionCheckin
from courses.attendance.roster_file import parse_roster_file, roster_export
from courses.catalog.models import ClassSession

bp = Blueprint("attendance", __name__)


def session_or_404(session_id: int) -> ClassSession:
    session = db.session.get(ClassSession, session_id)
    if session is None or not attendance.can_view_roster(current_user, session):
        abort(404)
    return session


@bp.route("/teach/sessions/<int:session_id>/roster", methods=["GET", "POST"])
@login_required
def roster(session_id: int):
    session = session_or_404(session_id)
    now = utcnow()
    if request.method == "POST":
        statuses = _statuses_from_form(session)
        perform(lambda: attendance.record_many(session, statuses, method="roster", actor=current_user, now=now),
                success=_("The roster is saved."))
        return redirect(url_for("attendance.roster", session_id=session.id))
    page = keyset_page(attendance.roster_statement(session), attendance.ROSTER_ORDER, attendance.roster_key,
                       per_page=200, ascending=True)
    return render_template("attendance/roster.html", session=session, page=page, labels=ATTENDANCE_LABELS,
                           mobiles=shown_mobiles(current_user, [person for person, _row in page.items]),
                           editable=attendance.can_edit_roster(current_user, session, now),
                           checkin=checkins.checkin_of(session), badge_form=BadgeForm(),
                           upload_form=RosterUploadForm(), window=checkins.window(session), now=now)


def _statuses_from_form(session: ClassSession) -> dict[int, str]:
    """status-<user id> fields; "all present" marks everyone on the roster present."""
    if request.form.get("all_present"):
        return {person.id: AttendanceStatus.PRESENT for person, _row in attendance.roster_rows(session)}
    return {user_id: value for name, value in request.form.items()
            if value and name.startswith("status-") and (user_id := parse_id(name.removeprefix("status-")))}


@bp.route("/teach/sessions/<int:session_id>/roster/print")
@login_required
def roster_print(session_id: int):
    session = session_or_404(session_id)
    people = attendance.roster_rows(session)
    return render_template("attendance/roster_print.html", session=session, people=people,
                           mobiles=shown_mobiles(current_user, [person for person, _row in people]))


@bp.route("/teach/sessions/<int:session_id>/roster.<any(csv, xlsx):kind>")
@login_required
def roster_download(session_id: int, kind: str):
    session = session_or_404(session_id)
    header, rows = roster_export(session, viewer=current_user)
    body = csv_bytes(header, rows) if kind == "csv" else xlsx_bytes(_("Roster"), header, rows)
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8" if kind == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = f'attachment; filename="roster-{session.id}.{kind}"'
    return response


def _upload_key() -> str:
    return f"roster-upload:{current_user.get_id()}"


@bp.route("/teach/sessions/<int:session_id>/roster/upload", methods=["POST"])
@login_required
@limiter.limit("30 per hour", key_func=_upload_key)  # a paper roster is uploaded once or twice, not tried out
def roster_upload(session_id: int):
    session = session_or_404(session_id)
    form = RosterUploadForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV or XLSX file with the columns mobile and status."), "danger")
        return redirect(url_for("attendance.roster", session_id=session.id))
    statuses, errors = parse_roster_file(session, form.file.data.filename, form.file.data.read(),
                                       viewer=current_user)
    if errors:
        return render_template("attendance/upload_errors.html", session=session, errors=errors), 400
    perform(lambda: attendance.record_many(session, statuses, method="upload", actor=current_user, now=utcnow()),
            success=_("%(count)d rows of the paper roster recorded.", count=len(statuses)))
    return redirect(url_for("attendance.roster", session_id=session.id))


@bp.route("/teach/sessions/<int:session_id>/roster/badge", methods=["POST"])
@login_required
def roster_badge(session_id: int):
    session = session_or_404(session_id)
    form = BadgeForm()
    now = utcnow()
    outcome = perform_quietly(lambda: checkins.mark_by_badge(session, form.badge.data or "", actor=current_user,
                                                             now=now))
    message = _("%(name)s is present.", name=outcome.value.real_name) if outcome.value else str(outcome.error)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"ok": outcome.ok, "message": message}), 200 if outcome.ok else 400
    flash(message, "success" if outcome.ok else "danger")
    return redirect(url_for("attendance.roster", session_id=session.id))


# ---- self check-in -------------------------------------------------------------------------------------

@bp.route("/teach/sessions/<int:session_id>/checkin", methods=["GET", "POST"])
@login_required
def checkin_display(session_id: int):
    session = session_or_404(session_id)
    if request.method == "POST":
        perform(lambda: checkins.open_checkin(session, actor=current_user, now=utcnow()),
                success=_("Check-in is open."))
        return redirect(url_for("attendance.checkin_display", session_id=session.id))
    checkin, now = checkins.checkin_of(session), utcnow()
    return render_template("attendance/checkin_display.html", session=session, checkin=checkin, now=now,
                           window=checkins.window(session), code=checkins.code_at(checkin, now) if checkin else None)


def _checkin_or_404(session: ClassSession) -> SessionCheckin:
    checkin = checkins.checkin_of(session)
    if checkin is None:
        abort(404)
    return checkin


@bp.route("/teach/sessions/<int:session_id>/checkin/code.json")
@login_required
def checkin_code(session_id: int):
    session = session_or_404(session_id)
    checkin = _checkin_or_404(session)
    now = utcnow()
    code = checkins.code_at(checkin, now)
    return jsonify({"code": code, "url": public_url("attendance.checkin", session=session.id, code=code),
                    "open": now < session.ends_at})


@bp.route("/teach/sessions/<int:session_id>/checkin/qr.svg")
@login_required
def checkin_qr(session_id: int):
    session = session_or_404(session_id)
    checkin = _checkin_or_404(session)
    code = checkins.code_at(checkin, utcnow())
    return _svg(public_url("attendance.checkin", session=session.id, code=code))


def _svg(text: str):
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=8, border=2)
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "no-store"
    return response


def _checkin_key() -> str:
    return f"checkin:{current_user.get_id() if current_user.is_authenticated else request.remote_addr}"


@bp.route("/checkin", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", key_func=_checkin_key, methods=["POST"])
def checkin():
    # The QR code's link fills the form (one tap to check in); a POST reads only what was posted.
    prefill = {"code": request.args.get("code", ""), "session": arg_int("session")}
    form = CheckinForm(data=prefill if request.method == "GET" else None)
    if form.validate_on_submit():
        outcome = perform(lambda: checkins.check_in(current_user, form.code.data, now=utcnow(),
                                                    session_id=form.session.data or None),
                          success=lambda session: _("You are checked in for %(course)s.", course=session.course.title),
                          form=form, field="code")
        if outcome.ok:
            return redirect(url_for("attendance.checkin"))
    offered = request.method == "POST" or checkins.can_check_in(current_user.id, utcnow())
    return render_template("attendance/checkin.html", form=form, offered=offered)


@bp.route("/me/badge")
@login_required
@offline_copy
def badge():
    today = local_date(utcnow())
    return render_template("attendance/badge.html", code=checkins.badge_typed(current_user.id, today), today=today)


def me_badge_panel(user):
    """The badge on the worker's own page (/me)."""
    return "attendance/_me_badge.html", {"code": checkins.badge_typed(user.id, local_date(utcnow()))}


@bp.route("/me/badge.svg")
@login_required
@offline_copy
def badge_svg():
    return _svg(checkins.badge_text(current_user.id, local_date(utcnow())))

"""Training hours: a worker's transcript (/me/hours), its PDF and verification, admins' entries
for members, and the union report (/reports/hours) with exports."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.cache import TTLCache
from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.exports import csv_bytes, xlsx_bytes
from classroom.extensions import db, limiter
from classroom.forms import arg_int
from classroom.http import form_error, paginate, role_required
from classroom.i18n import locale_code
from classroom.personal_data import mask_name
from classroom.unions import scope
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.services import membership_union_at
from courses.catalog.attachments import discard_file, place_file, receive_file
from courses.hours import reports, transcript
from courses.hours import services as hours
from courses.hours.forms import AdjustmentForm, ExternalForm, ReportForm
from courses.hours.models import HoursEntry
from courses.hours.report_table import report_table

YEARS = range(1950, 2200)  # a calendar year the pages can be asked about

bp = Blueprint("hours", __name__)

EVIDENCE_TYPES = frozenset({"pdf", "png", "jpg", "jpeg"})


# ---- a worker's own hours -------------------------------------------------------------------------

@bp.route("/me/hours")
@login_required
def mine():
    totals = hours.yearly_totals(current_user.id)
    year = arg_int("year") or (totals[0][0] if totals else hours.local_date(utcnow()).year)
    if year not in YEARS:
        abort(404)
    page = paginate(hours.entries_of(current_user.id, year), per_page=50)
    return render_template("hours/mine.html", totals=totals, year=year, page=page,
                           target=hours.target_for_user(current_user.id))


@bp.route("/me/hours/<int:year>.pdf")
@login_required
def transcript_pdf(year: int):
    if year not in YEARS:
        abort(404)
    minutes = dict(hours.yearly_totals(current_user.id)).get(year, 0)
    union_id = membership_union_at(current_user.id)
    union = db.session.get(TradeUnion, union_id) if union_id else None
    issued = hours.local_date(utcnow())
    token = transcript.sign({"y": year, "m": minutes, "n": mask_name(current_user.real_name),
                             "d": issued.isoformat(), "g": union.name if union else ""})
    entries = db.session.scalars(hours.entries_of(current_user.id, year).limit(40)).all()
    pdf = transcript.transcript_pdf(name=current_user.real_name, union=union.name if union else "", year=year,
                                    minutes=minutes, target=hours.target_for_user(current_user.id), entries=entries,
                                    issued=issued, url=transcript.verification_url(token),
                                    locale=current_user.locale or "zh_CN",
                                    as_of=transcript.last_changed(current_user.id, year, issued))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="hours-{year}.pdf"'
    return response


@bp.route("/hours/verify/<token>")
@limiter.limit("60 per minute")
def verify(token: str):
    payload = transcript.read(token)
    if payload is None:
        abort(404)
    return render_template("hours/verify.html", payload=payload)


# ---- admins record hours for members ------------------------------------------------------------------

union_admin_required = role_required(scope.is_union_admin)


def member_in_scope_or_404(user_id: int) -> User:
    """A member of a union the admin manages (an admin does not credit themselves)."""
    person = db.session.get(User, user_id)
    if person is None or person.id == current_user.id or not scope.can_see_user(current_user, person):
        scope.deny(current_user, "User", user_id)
    return person


@bp.route("/hours/members/<int:user_id>")
@union_admin_required
def member(user_id: int):
    if user_id == current_user.id and not request.args.get("format"):  # the admin's own row in a report
        return redirect(url_for("hours.mine"))
    person = member_in_scope_or_404(user_id)
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        header = [_("Date"), _("Source"), _("What"), _("Note"), _("Minutes"), _("Union")]
        rows = [[entry.earned_on.isoformat(), entry.source_label, entry.title, entry.note_label or "", entry.minutes,
                 entry.union.name if entry.union else _("No union")]
                for entry in db.session.scalars(hours.entries_of(person.id).options(joinedload(HoursEntry.union)))]
        return _export(header, rows, export, f"hours-member-{person.id}", _("Training hours"))
    page = paginate(hours.entries_of(person.id), per_page=50)
    return render_template("hours/member.html", person=person, page=page, totals=hours.yearly_totals(person.id),
                           external_form=ExternalForm(), adjustment_form=AdjustmentForm())


@bp.route("/hours/entries/<int:entry_id>/evidence")
@login_required
def evidence(entry_id: int):
    """The evidence file of an external-training entry: for its worker and the admins over them."""
    entry = db.session.get(HoursEntry, entry_id)
    if entry is None or not entry.evidence_stored:
        abort(404)
    if entry.user_id != current_user.id and not scope.can_see_user(current_user, db.session.get(User, entry.user_id)):
        scope.deny(current_user, "HoursEntry", entry_id)
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], entry.evidence_stored, as_attachment=True,
                                   download_name=entry.evidence_name or entry.evidence_stored)
    response.cache_control.private = True
    return response


@bp.route("/hours/members/<int:user_id>/external", methods=["POST"])
@union_admin_required
def add_external(user_id: int):
    person = member_in_scope_or_404(user_id)
    form = ExternalForm()
    if form.validate_on_submit():
        folder = current_app.config["UPLOAD_FOLDER"]
        stored = None
        try:
            if form.evidence.data and form.evidence.data.filename:
                stored = receive_file(form.evidence.data.filename, form.evidence.data.stream, folder=folder,
                                      max_bytes=current_app.config["EVIDENCE_MAX_BYTES"], allowed=EVIDENCE_TYPES)
            hours.add_external(person, title=form.title.data, provider=form.provider.data,
                               earned_on=form.earned_on.data, minutes=form.minutes.data, actor=current_user,
                               now=utcnow(), evidence=(stored.original_name, stored.stored_name) if stored else None)
            if stored:
                place_file(stored, folder)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("External training recorded."), "success")
        finally:
            if stored:
                discard_file(stored.temp_path)
    else:
        flash(_("Fill in the training, provider, date and minutes."), "danger")
    return redirect(url_for("hours.member", user_id=person.id))


@bp.route("/hours/members/<int:user_id>/adjust", methods=["POST"])
@union_admin_required
def adjust(user_id: int):
    person = member_in_scope_or_404(user_id)
    form = AdjustmentForm()
    if form.validate_on_submit():
        try:
            hours.add_adjustment(person, minutes=form.minutes.data, reason=form.reason.data, actor=current_user,
                                 now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error)
        else:
            db.session.commit()
            flash(_("Adjustment recorded."), "success")
            return redirect(url_for("hours.member", user_id=person.id))
    else:
        flash(_("An adjustment needs non-zero minutes and a reason."), "danger")
    return redirect(url_for("hours.member", user_id=person.id))


# ---- the union report -------------------------------------------------------------------------------

@bp.route("/reports/hours")
@union_admin_required
def report():
    node = _report_node()
    form = ReportForm(formdata=request.args)
    form.validate()
    try:
        period = _period(form)
    except DomainError as error:
        form_error(form, error, default="start")
        period = reports.period_from("year", hours.local_date(utcnow()).year)
    by = form.by.data if not form.by.errors else "union"
    if period.kind != "custom" and not form.year.data:
        form.year.data = period.start.year  # the form says which year the figures are for
    table = cached_table(node, period, by)
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        return _export(table.header, table.export_rows, export, f"hours-{node.code}-{period.label.replace(' ', '')}",
                       _("Training hours"))
    return render_template("hours/report.html", node=node, form=form, period=period, table=table,
                           ancestors=_ancestors(node))


# Union and dimension tables are the same for every admin of a node: computed once per
# REPORT_CACHE_SECONDS (figures may lag that long). Member tables (with mobiles masked by the
# reader's rights) are always computed for the reader.
report_cache = TTLCache(max_entries=512)


def cached_table(node: TradeUnion, period: reports.Period, by: str):
    if by == "union" and node.kind == UnionKind.GRASSROOTS:
        return report_table(node, period, by, viewer=current_user)
    key = (node.id, period.kind, period.start, period.end, by, locale_code(), current_user.is_site_admin)
    return report_cache.get_or_set(key, current_app.config["REPORT_CACHE_SECONDS"],
                                   lambda: report_table(node, period, by, viewer=current_user))


def _report_node() -> TradeUnion:
    union_id = arg_int("union")
    if union_id is None:
        node = db.session.scalars(scope.visible_unions(current_user).order_by(TradeUnion.depth).limit(1)).first()
        if node is None:
            abort(404)
        return node
    return scope.managed_union_or_404(current_user, union_id)


def _period(form: ReportForm) -> reports.Period:
    today = hours.local_date(utcnow())
    year = form.year.data if not form.year.errors and form.year.data else today.year
    part = form.part.data if not form.part.errors else None
    return reports.period_from(form.period.data or "year", year, part, form.start.data, form.end.data)


def _ancestors(node: TradeUnion) -> list[TradeUnion]:
    ids = node.ancestor_ids()[:-1]
    rows = {union.id: union for union in db.session.scalars(select(TradeUnion).where(TradeUnion.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows and scope.can_manage_union(current_user, rows[i])]


def _export(header: list, rows: list, kind: str, stem: str, title: str):
    name = f"{stem}.{kind}"
    if kind == "csv":
        body, mimetype = csv_bytes(header, rows), "text/csv; charset=utf-8"
    else:
        body = xlsx_bytes(title, header, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def home_section(user):
    """The home page: this year's training hours against the annual target."""
    if not user.is_authenticated:
        return None
    year = hours.local_date(utcnow()).year
    return "hours/_home.html", {"year": year, "minutes": dict(hours.yearly_totals(user.id)).get(year, 0),
                                "target": hours.target_for_user(user.id)}


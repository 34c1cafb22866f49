"""Training hours: a worker's transcript (/me/hours), its PDF and verification, admins' entries
for members, and the union report (/reports/hours) with exports."""

from __future__ import annotations

from typing import cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user, login_required

from classroom import replica
from classroom.accounts.models import User
from classroom.cache import TTLCache
from classroom.database import begin_write, utcnow
from classroom.domain import DomainError
from classroom.exports import csv_bytes, xlsx_bytes
from classroom.extensions import db, limiter
from classroom.forms import arg_int
from classroom.http import form_error, perform, role_required
from classroom.i18n import locale_code
from classroom.offline import offline_copy
from classroom.pagination import keyset_page
from classroom.storage import storage
from classroom.timefmt import local_date
from classroom.unions import scope
from classroom.unions.models import TradeUnion, UnionKind
from courses.hours import exports, queries, reports, transcript
from courses.hours import services as hours
from courses.hours.forms import AdjustmentForm, ExternalForm, ReportForm
from courses.hours.models import HoursEntry, ReportExport
from courses.hours.report_table import ReportTable, report_table

YEARS = range(1950, 2200)  # a calendar year the pages can be asked about

bp = Blueprint("hours", __name__)


# ---- a worker's own hours -------------------------------------------------------------------------

@bp.route("/me/hours")
@login_required
@offline_copy
def mine() -> ResponseReturnValue:
    totals = queries.yearly_totals(current_user.id)
    year = arg_int("year") or (totals[0][0] if totals else local_date(utcnow()).year)
    if year not in YEARS:
        abort(404)
    page = keyset_page(queries.entries_of(current_user.id, year), queries.LEDGER_ORDER, queries.entry_key,
                       per_page=50, rows=False)
    return render_template("hours/mine.html", totals=totals, year=year, page=page,
                           this_year=local_date(utcnow()).year, target=queries.target_for_user(current_user.id))


@bp.route("/me/hours/<int:year>.pdf")
@login_required
def transcript_pdf(year: int) -> ResponseReturnValue:
    if year not in YEARS:
        abort(404)
    response = make_response(transcript.of_person(current_user, year, now=utcnow()))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="hours-{year}.pdf"'
    return response


@bp.route("/me/hours/<int:year>")
@login_required
def transcript_view(year: int) -> ResponseReturnValue:
    """The transcript as a page, for phones that cannot open its PDF (WeChat's in-app browser)."""
    if year not in YEARS:
        abort(404)
    found = transcript.facts(current_user, year, now=utcnow())
    return render_template("hours/transcript.html", found=found, lines=transcript.summary(found))


@bp.route("/hours/verify/<token>")
@limiter.limit("60 per minute")
def verify(token: str) -> ResponseReturnValue:
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
def member(user_id: int) -> ResponseReturnValue:
    export = request.args.get("format")
    if user_id == current_user.id and not export:  # the admin's own row in a report
        return redirect(url_for("hours.mine"))
    person = member_in_scope_or_404(user_id)
    if export in ("csv", "xlsx"):
        header, rows = queries.member_export(person)
        return _export(header, rows, export, f"hours-member-{person.id}", _("Training hours"))
    page = keyset_page(queries.entries_of(person.id), queries.LEDGER_ORDER, queries.entry_key, per_page=50,
                       rows=False)
    return render_template("hours/member.html", person=person, page=page, totals=queries.yearly_totals(person.id),
                           external_form=ExternalForm(), adjustment_form=AdjustmentForm())


def evidence_file_or_404(entry_id: int) -> tuple[str, str]:
    """(stored name, download name) of an external-training entry's evidence, for its worker and the
    admins over them."""
    entry = db.session.get(HoursEntry, entry_id)
    if entry is None or not entry.evidence_stored:
        abort(404)
    person = db.session.get(User, entry.user_id)
    if entry.user_id != current_user.id and (person is None or not scope.can_see_user(current_user, person)):
        scope.deny(current_user, "HoursEntry", entry_id)
    return entry.evidence_stored, entry.evidence_name or entry.evidence_stored


@bp.route("/hours/entries/<int:entry_id>/evidence")
@login_required
def evidence(entry_id: int) -> ResponseReturnValue:
    """The evidence file of an external-training entry: for its worker and the admins over them."""
    stored, name = evidence_file_or_404(entry_id)
    return storage().download(stored, name)


@bp.route("/hours/members/<int:user_id>/external", methods=["POST"])
@union_admin_required
def add_external(user_id: int) -> ResponseReturnValue:
    person = member_in_scope_or_404(user_id)
    form = ExternalForm()
    if form.validate_on_submit():
        perform(lambda: _record_external(person, form), success=_("External training recorded."))
    else:
        flash(_("Fill in the training, provider, date and minutes."), "danger")
    return redirect(url_for("hours.member", user_id=person.id))


def _record_external(person: User, form: ExternalForm) -> HoursEntry:
    upload, config = form.evidence.data, current_app.config
    return hours.add_external_with_evidence(
        person, title=form.title.data, provider=form.provider.data, earned_on=form.earned_on.data,
        minutes=form.minutes.data, actor=current_user, now=utcnow(), filename=upload.filename if upload else None,
        stream=upload.stream if upload else None, folder=config["UPLOAD_FOLDER"],
        max_bytes=config["EVIDENCE_MAX_BYTES"])


@bp.route("/hours/members/<int:user_id>/adjust", methods=["POST"])
@union_admin_required
def adjust(user_id: int) -> ResponseReturnValue:
    person = member_in_scope_or_404(user_id)
    form = AdjustmentForm()
    if form.validate_on_submit():
        perform(lambda: hours.add_adjustment(person, minutes=form.minutes.data, reason=form.reason.data,
                                             actor=current_user, now=utcnow()),
                success=_("Adjustment recorded."))
    else:
        flash(_("An adjustment needs non-zero minutes and a reason."), "danger")
    return redirect(url_for("hours.member", user_id=person.id))


# ---- the union report -------------------------------------------------------------------------------

@bp.route("/reports/hours")
@union_admin_required
def report() -> ResponseReturnValue:
    node = _report_node()
    form = ReportForm(formdata=request.args)
    form.validate()
    period = _period(form)
    by = form.by.data if not form.by.errors else "union"
    if period.kind != "custom" and not form.year.data:
        form.year.data = period.start.year  # the form says which year the figures are for
    with replica.reads() as source:  # the figures from the read replica when there is one
        table = cached_table(node, period, by)
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        return _report_export(node, period, by, table, export)
    return render_template("hours/report.html", node=node, form=form, period=period, table=table,
                           ancestors=queries.managed_ancestors(node, current_user), source=source)


# Union and dimension tables are the same for every admin of a node: computed once per
# REPORT_CACHE_SECONDS (figures may lag that long). Member tables (with mobiles masked by the
# reader's rights) are always computed for the reader.
report_cache = TTLCache(max_entries=512)


def cached_table(node: TradeUnion, period: reports.Period, by: str) -> ReportTable:
    """The report's table, from the cache when every admin of the node sees the same one."""
    if by == "union" and node.kind == UnionKind.GRASSROOTS:
        return report_table(node, period, by, viewer=current_user)
    key = (node.id, period.kind, period.start, period.end, by, locale_code(), current_user.is_site_admin)
    return report_cache.get_or_set(key, current_app.config["REPORT_CACHE_SECONDS"],
                                   lambda: report_table(node, period, by, viewer=current_user))


def _report_export(node: TradeUnion, period: reports.Period, by: str, table: ReportTable,
                   kind: str) -> ResponseReturnValue:
    """The report's file: directly when small; a large member table is built by the queue (its page)."""
    stem = f"hours-{node.code}-{period.label.replace(' ', '')}"
    with replica.reads():
        rows = exports.export_rows(node, period, by)
    if not exports.is_large(rows):
        return _export(table.header, table.rows_for_export(), kind, stem, _("Training hours"))
    begin_write(db.session)  # a GET that records the export it queues
    asked = perform(lambda: exports.request_export(node, period, by, kind, actor=current_user, locale=locale_code(),
                                                   rows=rows, stem=stem, now=utcnow()))
    export, is_new = cast(tuple[ReportExport, bool], asked.value)
    if is_new:
        exports.start(export)
    return redirect(url_for("hours_exports.show", export_id=export.id))


def _report_node() -> TradeUnion:
    union_id = arg_int("union")
    if union_id is None:
        node = db.session.scalars(scope.visible_unions(current_user).order_by(TradeUnion.depth).limit(1)).first()
        if node is None:
            abort(404)
        return node
    return scope.managed_union_or_404(current_user, union_id)


def _period(form: ReportForm) -> reports.Period:
    """The period the form asks for; this year's, with the reason beside the form, when it names none."""
    today = local_date(utcnow())
    year = form.year.data if not form.year.errors and form.year.data else today.year
    part = form.part.data if not form.part.errors else None
    try:
        return reports.period_from(form.period.data or "year", year, part, form.start.data, form.end.data)
    except DomainError as error:
        form_error(form, error, default="start")
        return reports.period_from("year", today.year)


def _export(header: list, rows: list, kind: str, stem: str, title: str) -> Response:
    name = f"{stem}.{kind}"
    if kind == "csv":
        body, mimetype = csv_bytes(header, rows), exports.MIMETYPES["csv"]
    else:
        body, mimetype = xlsx_bytes(title, header, rows), exports.MIMETYPES["xlsx"]
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def home_section(user: User | AnonymousUserMixin) -> tuple[str, dict] | None:
    """The home page: this year's training hours against the annual target."""
    if not user.is_authenticated:
        return None
    year = local_date(utcnow()).year
    return "hours/_home.html", {"year": year, "minutes": queries.year_figure(user.id, year),  # figures: the home
                                "target": queries.target_figure(user.id)}  # page reads them together

"""A worker's own training hours through the API, as /me/hours shows them: the yearly totals with the annual
target, the ledger of a year (cursor pages, newest first), and the year's transcript PDF (the same document,
with its verification link). Only the caller's own: no path names another person."""

from __future__ import annotations

from flask import make_response, url_for
from marshmallow import Schema, fields

from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person
from classroom.api.schemas import CursorArgs, instant, page_of, query_number
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.timefmt import local_date
from courses.hours import queries, transcript
from courses.hours.models import HoursSource

bp = ApiBlueprint("api_hours", __name__, url_prefix="/api/v1/me/hours",
                  description="The worker's training hours: yearly totals, the ledger, transcripts.")
FIRST_YEAR, LAST_YEAR = 1950, 2199  # the years the pages answer too


class YearSchema(Schema):
    year = fields.Integer(required=True)
    minutes = fields.Integer(required=True, metadata={"description": "Training minutes earned that year."})
    transcript_url = fields.String(required=True, metadata={
        "description": "The year's transcript PDF (GET it with the same Authorization)."})


class HoursSummarySchema(Schema):
    this_year = fields.Integer(required=True)
    target_minutes = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The annual target of the worker's union (or the nearest above it); null when unset."})
    years = fields.List(fields.Nested(YearSchema), required=True, metadata={"description": "Newest first."})


class LedgerArgs(CursorArgs):
    year = query_number(FIRST_YEAR, LAST_YEAR, metadata={"description": "Only this calendar year's entries."})


class LedgerEntrySchema(Schema):
    id = fields.Integer(required=True)
    earned_on = fields.Date(required=True)
    minutes = fields.Integer(required=True, metadata={"description": "Negative for a reversal or correction."})
    source = fields.String(required=True, metadata={"enum": [source.value for source in HoursSource]})
    source_label = fields.String(required=True, metadata={"description": "The source in the caller's language."})
    title = fields.String(required=True)
    note = fields.String(required=True, allow_none=True, attribute="note_label")
    course_id = fields.Integer(required=True, allow_none=True)
    recorded_at = instant(required=True, attribute="created_at")


@bp.route("")
@bp.auth(person=True)
@bp.etag
@bp.response(200, HoursSummarySchema)
def summary():
    """The worker's training minutes per year (newest first), this year's target and each year's transcript."""
    person = current_person()
    return {"this_year": local_date(utcnow()).year, "target_minutes": queries.target_for_user(person.id),
            "years": [{"year": year, "minutes": minutes, "transcript_url": transcript_url(year)}
                      for year, minutes in queries.yearly_totals(person.id)]}


@bp.route("/entries")
@bp.auth(person=True)
@bp.etag
@bp.arguments(LedgerArgs, location="query")
@bp.response(200, page_of(LedgerEntrySchema, "HoursEntryPage"))
def entries(args: dict):
    """The worker's ledger, newest first (of one year with ?year=): lessons, classes, external training."""
    page = cursor_page(queries.entries_of(current_person().id, args.get("year")), queries.LEDGER_ORDER,
                       queries.entry_key, limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/<int(min=1950, max=2199):year>/transcript")
@bp.auth(person=True)
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
             description="The transcript PDF, signed with a verification link (/hours/verify/…).")
def transcript_pdf(year: int):
    """The year's transcript as a PDF, as /me/hours offers it."""
    response = make_response(transcript.of_person(current_person(), year, now=utcnow()))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="hours-{year}.pdf"'
    return response


def transcript_url(year: int) -> str:
    """Where the year's transcript is (a path under the API)."""
    return url_for("api_hours.transcript_pdf", year=year)

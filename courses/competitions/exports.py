"""The sheets admins download: a competition's entries (one row per person of each entry) and an
event's score sheet to fill in. Mobiles are masked by the reader's rights (the admins of the person's
own union and site admins see them whole); formulas are neutralized on write."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select

from classroom.audit import record_event
from classroom.extensions import db
from classroom.personal_data import mask_mobile
from classroom.timefmt import local_date, zone
from classroom.unions.scope import can_see_mobile
from courses.competitions import review
from courses.competitions.models import Competition, CompetitionEvent, Entry
from courses.competitions.results import confirmed_entries, scores_of
from courses.competitions.score_import import sheet_header


def entry_rows(viewer, statement: Select[Entry]) -> tuple[list[str], list[list]]:
    """(header, rows) of the entries ``statement`` selects, one row per person who accepted."""
    header = [_("Event"), _("Entry"), _("Team"), _("Name"), _("Mobile"), _("Union"), _("Status"),
              _("Waiting for"), _("Submitted"), _("Rank"), _("Award")]
    found = db.session.scalars(statement).all()
    people = review.people_by_entry([entry.id for entry in found])
    rows, tz = [], zone(viewer.timezone)
    for entry in found:
        show_mobile = can_see_mobile(viewer, entry.nominating_union)
        for person in people.get(entry.id, []):
            rows.append([entry.event.name, entry.id, entry.team_name or "", person.real_name,
                         (person.mobile if show_mobile else mask_mobile(person.mobile)) or "",
                         entry.nominating_union.name, entry.status_label,
                         entry.pending_union.name if entry.pending_union else "",
                         local_date(entry.submitted_at, tz).isoformat() if entry.submitted_at else "",
                         entry.rank or "", entry.award_label])
    return header, rows


def export_entries(viewer, competition: Competition, filters: dict) -> tuple[list[str], list[list]]:
    """The entries sheet of the competition as the viewer lists it (``filters`` of ``review.listing``);
    the export is written to the audit log."""
    header, rows = entry_rows(viewer, review.listing(viewer, competition, **filters))
    record_event(viewer, "competition.entries.export", competition,
                 union_id=competition.organizer_union_id, rows=len(rows), event_id=filters["event_id"],
                 filter_union_id=filters["union_id"], status=filters["status"])
    return header, rows


def score_sheet(viewer, event: CompetitionEvent) -> tuple[list[str], list[list]]:
    """(header, rows) of the sheet to fill in: entry number, name, mobile (masked by rights), one
    column per round with the scores recorded so far."""
    stages = event.competition.stages
    entries = db.session.scalars(confirmed_entries(event.id)).all()
    people = review.people_by_entry([entry.id for entry in entries])
    points = scores_of([entry.id for entry in entries])
    rows = []
    for entry in entries:
        captain = people.get(entry.id, [entry.applicant])[0]
        mobile = captain.mobile if can_see_mobile(viewer, entry.nominating_union) else mask_mobile(captain.mobile)
        rows.append([entry.id, entry.team_name or captain.real_name, mobile or "",
                     *[float(points[(entry.id, s.id)]) if (entry.id, s.id) in points else "" for s in stages]])
    return sheet_header(stages), rows

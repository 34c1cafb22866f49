"""The entries sheet: one row per person of each entry, mobiles masked by the reader's rights (the
admins of the person's own union and site admins see them whole), formulas neutralized on write."""

from __future__ import annotations

from flask_babel import gettext as _

from classroom.extensions import db
from classroom.personal_data import mask_mobile
from classroom.timefmt import zone
from classroom.unions.scope import can_see_mobile
from courses.competitions import approvals


def entry_rows(viewer, statement) -> tuple[list[str], list[list]]:
    header = [_("Event"), _("Entry"), _("Team"), _("Name"), _("Mobile"), _("Union"), _("Status"),
              _("Waiting for"), _("Submitted"), _("Rank"), _("Award")]
    found = db.session.scalars(statement).all()
    people = approvals.people_by_entry([entry.id for entry in found])
    rows, tz = [], zone(viewer.timezone)
    for entry in found:
        show_mobile = can_see_mobile(viewer, entry.nominating_union)
        for person in people.get(entry.id, []):
            rows.append([entry.event.name, entry.id, entry.team_name or "", person.real_name,
                         (person.mobile if show_mobile else mask_mobile(person.mobile)) or "",
                         entry.nominating_union.name, entry.status_label,
                         entry.pending_union.name if entry.pending_union else "",
                         entry.submitted_at.astimezone(tz).date().isoformat() if entry.submitted_at else "",
                         entry.rank or "", entry.award_label])
    return header, rows

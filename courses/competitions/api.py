"""/api/v1/competitions: the published competitions (notices are public: a worker's token or a key with
``competitions:read``), one with its rounds and events, whether the caller may enter each event and why not,
and the public results (names masked, as on the results page). Signing up, teams and entries:
``entries_api``."""

from __future__ import annotations

from flask_login import AnonymousUserMixin

from classroom.api.door import deny
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person, current_principal
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, one_of, page_of, query_number
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.forms import MAX_INT
from courses.competitions import catalogue, own_entries, results
from courses.competitions.access import can_organize, can_view
from courses.competitions.api_schemas import (
    CompetitionDetailSchema,
    CompetitionSchema,
    EligibilitySchema,
    PublicResultSchema,
)
from courses.competitions.eligibility import check, facts_for
from courses.competitions.models import Competition, CompetitionStatus, Entry

bp = ApiBlueprint("api_competitions", __name__, url_prefix="/api/v1/competitions",
                  description="Labour and skills competitions (劳动和技能竞赛): notices, events, eligibility, results.")
SCOPE = "competitions:read"


class CompetitionArgs(CursorArgs):
    status = one_of([CompetitionStatus.PUBLISHED.value, CompetitionStatus.RESULTS_PUBLISHED.value],
                    metadata={"description": "published: sign-up and rounds; results_published: over."})


class ResultArgs(CursorArgs):
    event = query_number(1, MAX_INT, metadata={"description": "The event (default: the competition's first)."})


@bp.route("")
@bp.auth(scope=SCOPE)
@bp.etag
@bp.arguments(CompetitionArgs, location="query")
@bp.response(200, page_of(CompetitionSchema, "CompetitionPage"))
def index(args: dict):
    """Every published competition, the latest sign-up deadline first."""
    statement = catalogue.listing()
    if args.get("status"):
        statement = statement.where(Competition.status == args["status"])
    page = cursor_page(statement, (Competition.signup_closes_at.expression, Competition.id.expression),
                       lambda competition: (competition.signup_closes_at, competition.id),
                       limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/<int:competition_id>")
@bp.auth(scope=SCOPE)
@bp.etag
@bp.response(200, CompetitionDetailSchema)
def show(competition_id: int):
    """A competition's notice, its rounds and its events with their rules."""
    return visible_competition(competition_id)


@bp.route("/<int:competition_id>/eligibility")
@bp.auth(person=True)
@bp.response(200, EligibilitySchema(many=True))
def eligibility(competition_id: int):
    """For each event: whether the caller may enter it now and, if not, the reasons; their live entry."""
    competition, user, now = visible_competition(competition_id), current_person(), utcnow()
    events = competition.events
    facts = facts_for(user, events)
    mine = own_entries.live_entries_by_event(user.id, [event.id for event in events])
    answers = [(event, check(user, event, now=now, facts=facts)) for event in events]
    return [{"event_id": event.id, "eligible": not reasons, "reasons": [str(reason) for reason in reasons],
             "entry": mine.get(event.id)} for event, reasons in answers]


@bp.route("/<int:competition_id>/results")
@bp.auth(scope=SCOPE)
@bp.etag
@bp.arguments(ResultArgs, location="query")
@bp.response(200, page_of(PublicResultSchema, "ResultPage"))
def results_of(args: dict, competition_id: int):
    """An event's ranked entries, names masked: once the results are published (the organizer sees them before)."""
    competition = visible_competition(competition_id)
    if competition.status != CompetitionStatus.RESULTS_PUBLISHED and not can_organize(viewer(), competition):
        raise Problem("not-found")
    wanted = args.get("event")
    event = next((e for e in competition.events if wanted in (None, e.id)), None)
    if event is None:
        raise Problem("not-found")
    page = cursor_page(results.public_results(event.id), (Entry.rank.expression, Entry.id.expression),
                       lambda entry: (entry.rank, entry.id), limit=args["limit"], cursor=args.get("cursor"),
                       descending=False)
    names = results.masked_names([entry.id for entry in page.items])
    return {"items": [_result(entry, names) for entry in page.items], "next_cursor": page.next_cursor}


def viewer():
    """The person calling, or (for a key) someone who sees what anyone sees."""
    return current_principal().user or AnonymousUserMixin()


def visible_competition(competition_id: int) -> Competition:
    """The competition with its program, when the caller may see it (a draft: its organizer); else 404."""
    competition = catalogue.with_program(competition_id)
    if competition is None:
        raise Problem("not-found")
    if not can_view(viewer(), competition):
        deny("Competition", competition_id)
    return competition


def _result(entry: Entry, names: dict[int, str]) -> dict:
    return {"entry_id": entry.id, "rank": entry.rank, "total": entry.total, "award": entry.award,
            "honor_title": entry.honor_title, "team_name": entry.team_name, "names": names.get(entry.id, ""),
            "union": entry.nominating_union}

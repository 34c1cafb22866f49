"""Labour and skills competitions: the public pages (the list, each notice with its events and who
may enter, the results once published, the notice's files) and following. Entering, organizing,
approving and results are nested blueprints of this one."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.http import owned_or_404, paginate, perform
from classroom.storage import storage
from classroom.unions import scope
from courses.catalog.content import render_markdown
from courses.competitions import (
    access,
    approval_views,
    catalogue,
    entry_views,
    following,
    manage_views,
    notice_files,
    own_entries,
    result_views,
    results,
    review,
)
from courses.competitions.eligibility import check, facts_for
from courses.competitions.lookups import visible_competition_or_404
from courses.competitions.models import (
    AWARD_LABELS,
    ENTRY_STATUS_LABELS,
    CompetitionAttachment,
    CompetitionStatus,
    EntryStatus,
)

bp = Blueprint("competitions", __name__)
for _module in (entry_views, manage_views, approval_views, result_views):
    bp.register_blueprint(_module.bp)


@bp.route("/competitions/")
def index() -> ResponseReturnValue:
    """Every published competition for visitors; people with a union see those organized for their
    unions first (?show=all for the rest)."""
    union_ids = access.viewer_union_ids(current_user)
    everything = not union_ids or request.args.get("show") == "all"
    page = paginate(catalogue.listing(None if everything else union_ids))
    return render_template("competitions/index.html", page=page, now=utcnow(), everything=everything,
                           tabs=bool(union_ids), organizer=scope.is_union_admin(current_user))


@bp.route("/competitions/<int:competition_id>")
def show(competition_id: int) -> ResponseReturnValue:
    """A competition's notice, its events and whether (and why not) the person may enter each."""
    competition = visible_competition_or_404(competition_id)
    now, events = utcnow(), competition.events
    facts = facts_for(current_user, events)
    reasons = {event.id: check(current_user, event, now=now, facts=facts) for event in events} \
        if current_user.is_authenticated else {}
    mine = own_entries.live_entries_by_event(current_user.id, [event.id for event in events]) \
        if current_user.is_authenticated else {}
    return render_template("competitions/show.html", competition=competition, events=events, reasons=reasons,
                           mine=mine, now=now, notice=render_markdown(competition.notice_md),
                           following=following.is_following(current_user, competition),
                           organize=access.can_organize(current_user, competition))


@bp.route("/competitions/<int:competition_id>/results")
def results_page(competition_id: int) -> ResponseReturnValue:
    """The ranked entries of an event, names masked: public once the results are published."""
    competition = visible_competition_or_404(competition_id)
    if competition.status != CompetitionStatus.RESULTS_PUBLISHED and not access.can_organize(current_user,
                                                                                              competition):
        abort(404)
    event = next((e for e in competition.events if str(e.id) == request.args.get("event")),
                 competition.events[0] if competition.events else None)
    if event is None:
        abort(404)
    page = paginate(results.public_results(event.id), per_page=50)
    return render_template("competitions/results.html", competition=competition, event=event, page=page,
                           names=results.masked_names([entry.id for entry in page.items]))


@bp.route("/competitions/<int:competition_id>/files/<int:attachment_id>")
def attachment(competition_id: int, attachment_id: int) -> ResponseReturnValue:
    """A file of the notice, as a download."""
    competition = visible_competition_or_404(competition_id)
    row = owned_or_404(CompetitionAttachment, attachment_id, competition_id=competition.id)
    return storage().download(f"{notice_files.FILE_FOLDER}/{row.stored_name}", row.original_name, row.content_type)


@bp.route("/competitions/<int:competition_id>/<any(follow, unfollow):action>", methods=["POST"])
@login_required
def follow(competition_id: int, action: str) -> ResponseReturnValue:
    """Follow the competition (to hear before sign-up closes), or stop."""
    competition = visible_competition_or_404(competition_id)
    perform(lambda: following.set_following(current_user, competition, action == "follow", now=utcnow()))
    return redirect(url_for("competitions.show", competition_id=competition.id))


@bp.app_template_global()
def entry_status_label(status: str) -> str:
    """An entry status in words."""
    return str(ENTRY_STATUS_LABELS.get(EntryStatus(status), status))


@bp.app_template_global()
def award_label(award: str | None) -> str:
    """An award in words ("" for none)."""
    return str(AWARD_LABELS.get(award, "")) if award else ""


# ---- the home page ------------------------------------------------------------------------------------

def home_section(user) -> tuple[str, dict] | None:
    """A worker's live entries and open invitations; for admins, the entries waiting for them."""
    if not user.is_authenticated:
        return None
    waiting = review.waiting_count(user) if scope.is_union_admin(user) else None
    return "competitions/_home.html", {"live_entries": own_entries.live_entries(user.id, 3),
                                       "invitations": own_entries.open_invitations(user.id),
                                       "waiting_entries": waiting}


# ruff: noqa: F811 - the shared fixtures are imported from tests.test_competitions
"""A competition's results wait for the competition to be over: sign-up closed, the last round ended,
every entry decided and the ranked entries scored. The organizer's page says what is missing instead of
offering the button, a POST past it is refused with the reasons, and awards follow the results (no award
by hand before the last round, no award certificate before the results are published)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from classroom.database import utcnow
from classroom.domain import Conflict
from classroom.extensions import db
from courses.certificates.models import Certificate
from courses.competitions import approvals, entries, publication, results
from courses.competitions.models import Competition, Entry, Stage
from tests.factories import login_client
from tests.markup import elements
from tests.test_competitions import (  # noqa: F401
    confirmed_field,
    electrician,
    entry_of,
    make_competition,
    make_event,
    the_competition_is_over,
)

SIGN_UP_OPEN = "Sign-up is still open: the results are published after it closes."
NOT_ENDED = "The last round, 实操, has not ended yet."
NO_SCORES = "No scores are recorded for 电工（个人赛）."
PUBLISH_ACTION = "/results/publish"


def score_all(event, stages, organizer, entrants, points: int = 90) -> None:
    """Every round's score for each entrant, the first best."""
    scores = {entry_of(person, event).id: {stage.id: Decimal(points - place) for stage in stages}
              for place, person in enumerate(entrants)}
    results.record_scores(event, scores, actor=organizer, now=utcnow())
    db.session.commit()


def missing(competition: Competition, now) -> list[str]:
    return [str(reason) for reason in publication.publication_blockers(competition, now=now)]


def after_the_last_round(stages) -> object:
    return max(stage.ends_at for stage in stages) + timedelta(minutes=1)


# ---- each missing condition, named -------------------------------------------------------------------

def test_sign_up_and_the_last_round_are_waited_for(app, confirmed_field):
    competition, event, stages, organizer, people = confirmed_field
    score_all(event, stages, organizer, people)
    assert missing(competition, utcnow()) == [SIGN_UP_OPEN, NOT_ENDED]
    closed = competition.signup_closes_at + timedelta(seconds=1)  # sign-up over, rounds still ahead
    assert missing(competition, closed) == [NOT_ENDED]
    assert missing(competition, stages[1].ends_at) == []  # the moment the last round ends
    with pytest.raises(Conflict, match="Sign-up is still open.*The last round, 实操, has not ended yet"):
        publication.publish_results(competition, actor=organizer, now=utcnow())


def test_rounds_are_required(app, confirmed_field):
    competition, _event, stages, _organizer, _people = confirmed_field
    later = after_the_last_round(stages)
    db.session.execute(delete(Stage).where(Stage.competition_id == competition.id))
    db.session.commit()
    db.session.expire_all()
    assert "No rounds are set: the results come from the scores of the rounds." in missing(competition, later)


def test_every_entry_is_decided_first(app, tree, confirmed_field, electrician):
    competition, event, stages, organizer, people = confirmed_field
    score_all(event, stages, organizer, people)
    waiting = entries.enter(electrician("钱七", tree.a1, skill_level=4), event, now=utcnow())
    leaving = electrician("孙八", tree.a1, skill_level=4)
    entries.withdraw(entries.enter(leaving, event, now=utcnow()), actor=leaving, now=utcnow())
    db.session.commit()
    later = after_the_last_round(stages)
    assert missing(competition, later) == ["1 entry still waits for a decision (approval or confirmation)."]
    waiting = approvals.approve(waiting, actor=organizer, now=utcnow())  # approved, not yet confirmed
    db.session.commit()
    assert waiting.status == "approved" and len(missing(competition, later)) == 1
    approvals.reject(waiting, "材料不全", actor=organizer, now=utcnow())  # rejected and withdrawn are decided
    db.session.commit()
    assert missing(competition, later) == []


def test_the_ranked_entries_are_scored(app, confirmed_field):
    competition, event, (theory, practice), organizer, people = confirmed_field
    later = after_the_last_round((theory, practice))
    assert missing(competition, later) == [NO_SCORES]
    first, second = entry_of(people[0], event), entry_of(people[1], event)
    results.record_scores(event, {first.id: {theory.id: Decimal(90), practice.id: Decimal(90)},
                                  second.id: {theory.id: Decimal(80)}}, actor=organizer, now=utcnow())
    db.session.commit()
    assert missing(competition, later) == ["1 scored entry in 电工（个人赛） lacks the score of a round."]
    results.record_scores(event, {second.id: {practice.id: Decimal(70)}}, actor=organizer, now=utcnow())
    db.session.commit()
    assert missing(competition, later) == []  # the two unscored entrants stay unranked (they did not compete)


def test_a_competition_without_confirmed_entries_has_no_results(app, make_competition, make_event):
    competition = make_competition(signup_opens_at=utcnow() - timedelta(days=9),
                                   signup_closes_at=utcnow() - timedelta(days=8))
    make_event(competition)
    db.session.add(Stage(competition_id=competition.id, name="实操", kind="practical",
                         starts_at=utcnow() - timedelta(days=2), ends_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    assert missing(competition, utcnow()) == ["No entry is confirmed: there are no results to publish."]


# ---- the organizer's page and the POST ----------------------------------------------------------------

def test_the_page_says_what_is_missing_and_a_post_past_it_is_refused(app, confirmed_field):
    competition, _event, _stages, organizer, people = confirmed_field
    client = login_client(app, organizer)
    page = client.get(f"/competitions/{competition.id}/manage").get_data(as_text=True)
    box = page.split("data-results-missing", 1)[1].split("</section>", 1)[0]
    for reason in (SIGN_UP_OPEN, NOT_ENDED, NO_SCORES):
        assert reason in box
    buttons = [button for button in elements(box, "button") if "data-publish-results-disabled" in button.attrs]
    assert len(buttons) == 1 and "disabled" in buttons[0].attrs and buttons[0].get("aria-disabled") == "true"
    assert PUBLISH_ACTION not in page
    answer = client.post(f"/competitions/{competition.id}/results/publish", follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert answer.request.path == f"/competitions/{competition.id}/manage"
    assert "The results cannot be published yet." in text and "Sign-up is still open" in text
    db.session.expire_all()
    assert db.session.get(Competition, competition.id).status == "published"
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_once_nothing_is_missing_the_results_publish(app, confirmed_field):
    competition, event, stages, organizer, people = confirmed_field
    score_all(event, stages, organizer, people)
    the_competition_is_over(competition)
    client = login_client(app, organizer)
    page = client.get(f"/competitions/{competition.id}/manage").get_data(as_text=True)
    assert "data-results-missing" not in page and PUBLISH_ACTION in page and "data-publish-results" in page
    answer = client.post(f"/competitions/{competition.id}/results/publish", follow_redirects=True)
    assert "The results are published." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Competition, competition.id).status == "results_published"
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.kind == "award")) == 4
    manage = client.get(f"/competitions/{competition.id}/manage").get_data(as_text=True)
    assert "data-results-missing" not in manage and PUBLISH_ACTION not in manage  # done: nothing to offer


# ---- awards follow the results -------------------------------------------------------------------------

def test_awards_by_hand_wait_for_the_last_round(app, confirmed_field):
    competition, event, stages, organizer, people = confirmed_field
    score_all(event, stages, organizer, people)
    last = entry_of(people[3], event)
    client = login_client(app, organizer)
    sheet = client.get(f"/competitions/events/{event.id}/scores").get_data(as_text=True)
    assert "data-award-later" in sheet and "data-award-form" not in sheet
    answer = client.post(f"/competitions/entries/{last.id}/award", data={"award": "first", "honor_title": "状元"},
                         follow_redirects=True)
    assert "Awards are given by hand once the last round has ended." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Entry, last.id).award, db.session.get(Entry, last.id).is_award_manual) == ("third", False)
    the_competition_is_over(competition)
    sheet = client.get(f"/competitions/events/{event.id}/scores").get_data(as_text=True)
    assert "data-award-later" not in sheet and f'data-award-form="{last.id}"' in sheet
    client.post(f"/competitions/entries/{last.id}/award", data={"award": "first", "honor_title": "状元"})
    db.session.expire_all()
    assert (db.session.get(Entry, last.id).award, db.session.get(Entry, last.id).honor_title) == ("first", "状元")


def test_no_award_certificate_before_the_results_are_published(app, confirmed_field):
    competition, event, stages, organizer, people = confirmed_field
    score_all(event, stages, organizer, people)
    the_competition_is_over(competition)
    winners = publication.award_rows(competition.id)
    assert winners
    with pytest.raises(Conflict, match="Award certificates follow the results"):
        publication.issue_award_certificates(competition, winners, now=utcnow())
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0

"""Publishing the results, once the competition is over: what still stands in the way (in words, for
the organizer's page and the refusal alike), then the public results page, award certificates, the
skill-level promotions awards earn and the news to entrants. Awards follow the results: no award
certificate before the results are published."""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict
from classroom.extensions import db
from classroom.notifications.services import notify_many
from courses.certificates import awards as certificates
from courses.certificates.models import Certificate
from courses.competitions.access import require_organizer
from courses.competitions.models import (
    AWARD_LABELS,
    AWARDS,
    Competition,
    CompetitionStatus,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
    PromotionRecord,
    Score,
    Stage,
)

UNDECIDED = (EntryStatus.FORMING, EntryStatus.SUBMITTED, EntryStatus.APPROVED)


# ---- ready to publish? ---------------------------------------------------------------------------------

def last_round(competition: Competition) -> Stage | None:
    """The round that ends last (None without rounds)."""
    return max(competition.stages, key=lambda stage: stage.ends_at, default=None)


def publication_blockers(competition: Competition, *, now: datetime) -> list:
    """What is missing before the results may be published, each in words; empty when nothing is:
    sign-up closed, the last round over, every entry decided, and the ranked entries scored."""
    missing = []
    if competition.signup_closes_at > now:
        missing.append(_l("Sign-up is still open: the results are published after it closes."))
    final = last_round(competition)
    if final is None:
        missing.append(_l("No rounds are set: the results come from the scores of the rounds."))
    elif final.ends_at > now:
        missing.append(_l("The last round, %(round)s, has not ended yet.", round=final.name))
    undecided = db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.competition_id == competition.id, Entry.status.in_(UNDECIDED)))
    if undecided:
        missing.append(lazy_ngettext("%(num)d entry still waits for a decision (approval or confirmation).",
                                     "%(num)d entries still wait for a decision (approval or confirmation).",
                                     undecided))
    return missing + _score_blockers(competition)


def _score_blockers(competition: Competition) -> list:
    """Each event with confirmed entries has scores; a ranked (scored) entry has the score of every round."""
    rounds = len(competition.stages)
    scored = db.session.execute(
        select(Entry.event_id, func.count(Score.id)).outerjoin(Score, Score.entry_id == Entry.id)
        .where(Entry.competition_id == competition.id, Entry.status == EntryStatus.CONFIRMED)
        .group_by(Entry.event_id, Entry.id)).all()
    if not scored:
        return [_l("No entry is confirmed: there are no results to publish.")]
    missing = []
    for event in competition.events:
        counts = [count for event_id, count in scored if event_id == event.id]
        if counts and not any(counts):
            missing.append(_l("No scores are recorded for %(event)s.", event=event.name))
        partial = sum(1 for count in counts if 0 < count < rounds)
        if partial:
            missing.append(lazy_ngettext("%(num)d scored entry in %(event)s lacks the score of a round.",
                                         "%(num)d scored entries in %(event)s lack the score of a round.",
                                         partial, event=event.name))
    return missing


def rounds_over(competition: Competition, *, now: datetime) -> bool:
    """Whether the competition has taken place: it has rounds and the last one has ended."""
    final = last_round(competition)
    return final is not None and final.ends_at <= now


def require_rounds_over(competition: Competition, *, now: datetime) -> None:
    """Awards are given once the competition has taken place: refused while a round is still ahead."""
    if not rounds_over(competition, now=now):
        raise Conflict(_l("Awards are given by hand once the last round has ended."))


# ---- publishing ----------------------------------------------------------------------------------------

def publish_results(competition: Competition, *, actor, now: datetime) -> int:
    """Publish the results: the public page opens, award certificates are issued, promotions are
    recorded (pending) and entrants are told. Refused, saying what is missing, before the competition
    is over. Returns how many people won an award."""
    begin_write(db.session)
    db.session.refresh(competition)
    require_organizer(actor, competition)
    if competition.status != CompetitionStatus.PUBLISHED:
        raise Conflict(_l("Only a running competition's results can be published."))
    missing = publication_blockers(competition, now=now)
    if missing:
        raise Conflict(_l("The results cannot be published yet. %(missing)s"),
                       missing=" ".join(str(reason) for reason in missing))
    competition.status, competition.results_published_at = CompetitionStatus.RESULTS_PUBLISHED, now
    winners = award_rows(competition.id)
    issue_award_certificates(competition, winners, now=now)
    promoted = _record_promotions(winners, now=now)
    _tell_results(competition, winners, now=now)
    record_event(actor, "competition.results.publish", competition, union_id=competition.organizer_union_id,
                 winners=len(winners), promotions=promoted)
    return len(winners)


def award_rows(competition_id: int) -> list[tuple[EntryMember, Entry, User]]:
    """(member, entry, person) of everyone an award or an honour title goes to, by event and rank."""
    return list(db.session.execute(
        select(EntryMember, Entry, User).join(Entry, Entry.id == EntryMember.entry_id)
        .join(User, User.id == EntryMember.user_id)
        .where(Entry.competition_id == competition_id, Entry.status == EntryStatus.CONFIRMED,
               EntryMember.status == MemberStatus.ACCEPTED, Entry.award.is_not(None) | Entry.honor_title.is_not(None))
        .options(joinedload(Entry.event)).order_by(Entry.event_id, Entry.rank, EntryMember.id)).all())


def award_facts(competition: Competition, entry: Entry) -> dict:
    """An entry's award as an award certificate states it (texts in Chinese, the award's code beside)."""
    with force_locale("zh_CN"):
        award_text = str(AWARD_LABELS[entry.award]) if entry.award else ""
    return {"competition_title": competition.title, "edition": competition.edition, "year": competition.year,
            "level": competition.level, "event": entry.event.name, "trade": entry.event.trade,
            "team": entry.team_name, "rank": entry.rank, "award": entry.award, "award_text": award_text,
            "honor_title": entry.honor_title, "issuer": competition.organizer_union.name}


def award_snapshot(competition: Competition, entry: Entry, person: User) -> dict:
    """The material fields of an award certificate, as issued."""
    return {"holder_name": person.real_name, **award_facts(competition, entry)}


def issue_award_certificates(competition: Competition, winners, *, now: datetime) -> int:
    """One award certificate per winning person, through the certificates feature; only for published
    results (an award certificate never comes before them)."""
    if competition.status != CompetitionStatus.RESULTS_PUBLISHED:
        raise Conflict(_l("Award certificates follow the results: publish the results first."))
    for member, entry, person in winners:
        certificate = certificates.issue_award(person, competition_id=competition.id, entry_id=entry.id,
                                               snapshot=award_snapshot(competition, entry, person),
                                               issuer_union_id=competition.organizer_union_id, now=now)
        member.certificate_id = certificate.id
    return len(winners)


def facts_of_an_award(certificate: Certificate, **_) -> dict:
    """What the rows of an award certificate's entry say, for a record issued without some of it."""
    entry = db.session.get(Entry, certificate.competition_entry_id) if certificate.competition_entry_id else None
    if entry is None:
        return {}
    facts = award_facts(entry.competition, entry)
    return {"competition": facts["competition_title"], "event": facts["event"], "award": facts["award_text"],
            "honor_title": facts["honor_title"], "rank": facts["rank"], "team": facts["team"],
            "organizer": facts["issuer"], "edition": facts["edition"]}


def _record_promotions(winners, *, now: datetime) -> int:
    """A pending promotion by one level for each person whose award is the event's promotion award or better."""
    made = 0
    for _member, entry, person in winners:
        threshold = entry.event.promotion_award
        if not threshold or not entry.award or AWARDS.index(entry.award) > AWARDS.index(threshold):
            continue
        if person.skill_level == 1:
            continue
        db.session.add(PromotionRecord(user_id=person.id, entry_id=entry.id, from_level=person.skill_level,
                                       level=max(1, (person.skill_level or 6) - 1), created_at=now))
        made += 1
    return made


def _tell_results(competition: Competition, winners, *, now: datetime) -> None:
    everyone = db.session.scalars(
        select(User).join(EntryMember, EntryMember.user_id == User.id).join(Entry, Entry.id == EntryMember.entry_id)
        .where(Entry.competition_id == competition.id, Entry.status == EntryStatus.CONFIRMED,
               EntryMember.status == MemberStatus.ACCEPTED)).all()
    notify_many(everyone, "competition.results", f"competition.results:{competition.id}",
                _l("The results of %(competition)s are published"), link=f"/competitions/{competition.id}/results",
                params={"competition": competition.title}, now=now)
    groups: dict[tuple[int, str | None], list[User]] = {}
    for _member, entry, person in winners:
        groups.setdefault((entry.event_id, entry.award), []).append(person)
    for (event_id, award), people in groups.items():
        event = next(entry.event for _m, entry, _p in winners if entry.event_id == event_id)
        notify_many(people, "competition.results", f"competition.award:{event_id}:{award}",
                    _l("Congratulations: %(award)s in %(event)s"), link="/competitions/mine",
                    params={"award": AWARD_LABELS.get(award or "", _l("an honour title")), "event": event.name},
                    now=now)

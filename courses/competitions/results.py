"""Results: scores per stage (typed here, imported in score_import), totals weighted by
stage, ranks with ties (competition ranking: 1, 2, 2, 4), awards and honour titles by the event's
rule or by hand (once the last round is over), the skill-level promotions awards earn taking effect,
and the public results page. Publishing them is publication's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, select, update
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.forms import typed, typed_decimal
from classroom.personal_data import mask_name
from classroom.timefmt import local_date, platform_zone
from courses.certificates.models import ExternalSkillCertificate, SkillCertificateStatus
from courses.competitions.access import require_organizer
from courses.competitions.models import (
    AWARDS,
    Competition,
    CompetitionEvent,
    CompetitionStatus,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
    PromotionRecord,
    PromotionStatus,
    Score,
)
from courses.competitions.publication import require_rounds_over
from courses.competitions.quotas import rows_changed

CENT = Decimal("0.01")
MAX_POINTS = Decimal(100)


# ---- ranks and awards (pure) -------------------------------------------------------------------------

def competition_ranks(totals: list[Decimal | None]) -> list[int | None]:
    """Ranks for these totals, highest first; equal totals share a rank and the next rank skips
    (1, 2, 2, 4). No total, no rank."""
    first_place: dict[Decimal, int] = {}
    for place, total in enumerate(sorted((t for t in totals if t is not None), reverse=True), start=1):
        first_place.setdefault(total, place)
    return [None if total is None else first_place[total] for total in totals]


def award_for(rank: int | None, rule: dict) -> str | None:
    """The award a rank earns under a rule of places per award ({"first": 1, "second": 2 …}), in
    order; entries that share a rank share its award."""
    if rank is None:
        return None
    cutoff = 0
    for award in AWARDS:
        cutoff += int(rule.get(award) or 0)
        if rank <= cutoff:
            return award
    return None


def weighted_total(points: Iterable[tuple[Decimal, int]]) -> Decimal | None:
    """Σ score × weight / 100 over the stages scored, to the cent; None when nothing is scored."""
    points = list(points)
    if not points:
        return None
    return sum((Decimal(score) * weight / 100 for score, weight in points), Decimal(0)).quantize(CENT, ROUND_HALF_UP)


# ---- scores ----------------------------------------------------------------------------------------

def require_scoring(event: CompetitionEvent, actor) -> Competition:
    """The event's competition, when the actor organizes it and it is running (scores may change)."""
    competition = event.competition
    require_organizer(actor, competition)
    if competition.status != CompetitionStatus.PUBLISHED:
        raise Conflict(_l("Scores are recorded while the competition runs, before its results are published."))
    return competition


def confirmed_entries(event_id: int) -> Select[Entry]:
    """SELECT of an event's confirmed entries with their applicant and union."""
    return (select(Entry).where(Entry.event_id == event_id, Entry.status == EntryStatus.CONFIRMED)
            .options(joinedload(Entry.applicant), joinedload(Entry.nominating_union))
            .order_by(Entry.rank.is_(None), Entry.rank, Entry.id))


def confirmed_entry_ids(event_id: int) -> set[int]:
    """The ids of an event's confirmed entries (those that are scored)."""
    return set(db.session.scalars(select(Entry.id).where(Entry.event_id == event_id,
                                                         Entry.status == EntryStatus.CONFIRMED)))


def scores_of(entry_ids: list[int]) -> dict[tuple[int, int], Decimal]:
    """{(entry id, stage id): points} of these entries (one query)."""
    if not entry_ids:
        return {}
    return {(entry_id, stage_id): points for entry_id, stage_id, points in db.session.execute(
        select(Score.entry_id, Score.stage_id, Score.points).where(Score.entry_id.in_(entry_ids)))}


def parse_points(text) -> Decimal | None:
    """A score as typed (typed_decimal: "８５．５" counts, "٨٥" does not): empty → None; else a number
    from 0 to 100 with at most two decimals."""
    if text is None or typed(str(text)) == "":
        return None
    value = typed_decimal(str(text))
    if value is None:
        raise Invalid(_l("“%(value)s” is not a number: type it with the digits 0-9."), value=str(text)[:20])
    if not 0 <= value <= MAX_POINTS or value != value.quantize(CENT):
        raise Invalid(_l("A score is a number from 0 to 100 with at most two decimals."))
    return value


def record_scores(event: CompetitionEvent, scores: Mapping[int, Mapping[int, Decimal | None]], *, actor,
                  now: datetime) -> int:
    """Set stage scores ({entry id: {stage id: points, or None to clear}}) of confirmed entries, then
    rank the event again. Returns how many scores changed."""
    begin_write(db.session)
    competition = require_scoring(event, actor)
    stage_ids = {stage.id for stage in competition.stages}
    entry_ids = confirmed_entry_ids(event.id)
    if not set(scores) <= entry_ids or any(not set(row) <= stage_ids for row in scores.values()):
        raise Invalid(_l("Scores are recorded only for confirmed entries and this competition's rounds."))
    existing = {(row.entry_id, row.stage_id): row for row in db.session.scalars(
        select(Score).where(Score.entry_id.in_(list(scores))))}
    changed = 0
    for entry_id, row in scores.items():
        for stage_id, points in row.items():
            changed += _set_score(existing.get((entry_id, stage_id)), entry_id, stage_id, points, actor, now)
    db.session.flush()
    rank_event(event)
    record_event(actor, "competition.scores.record", event, union_id=competition.organizer_union_id,
                 competition_id=competition.id, changed=changed)
    return changed


def _set_score(score: Score | None, entry_id: int, stage_id: int, points: Decimal | None, actor, now) -> int:
    if points is None:
        if score is None:
            return 0
        db.session.delete(score)
        return 1
    if score is None:
        db.session.add(Score(entry_id=entry_id, stage_id=stage_id, points=points, recorded_by_id=actor.id,
                             recorded_at=now))
        return 1
    if Decimal(score.points) == points:
        return 0
    score.points, score.recorded_by_id, score.recorded_at = points, actor.id, now
    return 1


def rank_event(event: CompetitionEvent) -> None:
    """Totals, ranks, and the rule's awards and titles (entries awarded by hand keep theirs)."""
    weights = {stage.id: stage.weight for stage in event.competition.stages}
    entries = list(db.session.scalars(select(Entry).where(Entry.event_id == event.id,
                                                          Entry.status == EntryStatus.CONFIRMED)))
    by_entry: dict[int, list[tuple[Decimal, int]]] = {}
    for (entry_id, stage_id), score in scores_of([entry.id for entry in entries]).items():
        by_entry.setdefault(entry_id, []).append((score, weights[stage_id]))
    totals = [weighted_total(by_entry.get(entry.id, [])) for entry in entries]
    for entry, total, rank in zip(entries, totals, competition_ranks(totals), strict=True):
        entry.total, entry.rank = total, rank
        if not entry.is_award_manual:
            entry.award = award_for(rank, event.award_rule or {})
            top = event.honor_title_top or 0
            entry.honor_title = event.honor_title if event.honor_title and rank is not None and rank <= top else None


def set_award(entry: Entry, award: str | None, honor_title: str, *, by_rule: bool, actor, now: datetime) -> None:
    """Award by hand once the last round is over (or hand the entry back to the rule at any time)."""
    begin_write(db.session)
    db.session.refresh(entry)
    require_scoring(entry.event, actor)
    if entry.status != EntryStatus.CONFIRMED:
        raise Conflict(_l("Only confirmed entries receive awards."))
    if not by_rule:
        require_rounds_over(entry.competition, now=now)
    if award not in (None, "", *AWARDS):
        raise Invalid(_l("Choose an award."), field="award")
    entry.is_award_manual = not by_rule
    if by_rule:
        rank_event(entry.event)
    else:
        entry.award, entry.honor_title = award or None, (honor_title or "").strip()[:50] or None
    record_event(actor, "competition.award.set", entry, union_id=entry.competition.organizer_union_id,
                 award=entry.award, honor_title=entry.honor_title, by_rule=by_rule)


# ---- promotions ---------------------------------------------------------------------------------------

def effective_promotions(*, now: datetime) -> int:
    """Make pending promotions effective whose person now holds a verified external certificate of the
    promoted level (or higher) issued on or after the award, i.e. the day the results were published,
    in the platform's time zone: a certificate held before the competition proves nothing about the
    promotion. Returns how many changed; the caller commits."""
    tz = platform_zone()
    candidates = db.session.execute(
        select(PromotionRecord.id, PromotionRecord.created_at, ExternalSkillCertificate.issued_on)
        .join(ExternalSkillCertificate, and_(ExternalSkillCertificate.user_id == PromotionRecord.user_id,
                                             ExternalSkillCertificate.status == SkillCertificateStatus.VERIFIED,
                                             ExternalSkillCertificate.level <= PromotionRecord.level))
        .where(PromotionRecord.status == PromotionStatus.PENDING))
    ids = sorted({promotion_id for promotion_id, awarded_at, issued_on in candidates
                  if issued_on >= local_date(awarded_at, tz)})
    if not ids:
        return 0
    return rows_changed(
        update(PromotionRecord).where(PromotionRecord.id.in_(ids), PromotionRecord.status == PromotionStatus.PENDING)
        .values(status=PromotionStatus.EFFECTIVE, effective_at=now).execution_options(synchronize_session=False))


# ---- the public page ----------------------------------------------------------------------------------

def public_results(event_id: int) -> Select[Entry]:
    """SELECT of the ranked entries of an event, best first (for the public page: mask the names)."""
    return (select(Entry).where(Entry.event_id == event_id, Entry.status == EntryStatus.CONFIRMED,
                                Entry.rank.is_not(None))
            .options(joinedload(Entry.applicant), joinedload(Entry.nominating_union))
            .order_by(Entry.rank, Entry.id))


def masked_names(entry_ids: list[int]) -> dict[int, str]:
    """{entry id: "张*明、李*"}: the accepted people of each entry, names masked (one query)."""
    names: dict[int, list[str]] = {}
    if entry_ids:
        for entry_id, real_name in db.session.execute(
                select(EntryMember.entry_id, User.real_name).join(User, User.id == EntryMember.user_id)
                .where(and_(EntryMember.entry_id.in_(entry_ids), EntryMember.status == MemberStatus.ACCEPTED))
                .order_by(EntryMember.entry_id, EntryMember.is_captain.desc(), EntryMember.id)):
            names.setdefault(entry_id, []).append(mask_name(real_name))
    return {entry_id: "、".join(people) for entry_id, people in names.items()}


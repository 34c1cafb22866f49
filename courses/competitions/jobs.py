"""Competition scans: sign-up closing within 3 days (followers who have not entered, and the admins
with entries waiting for them), a round starting within 24 hours (confirmed entrants, with the
venue), teams still forming when sign-up closed (they lapse), promotions that became effective,
and the entries counted in the approvers' digest.
Each reminder is one INSERT … SELECT under unique dedup keys: a scan run twice creates nothing new."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, exists, func, literal, select, update
from sqlalchemy.orm import aliased

from classroom.accounts.models import Role, RoleGrant, User
from classroom.database import UTCDateTime
from classroom.extensions import db
from classroom.notifications.facts import sql_facts
from classroom.unions.models import TradeUnion
from courses.competitions import results
from courses.competitions.models import (
    WAITING_STATUSES,
    Competition,
    CompetitionFollow,
    CompetitionStatus,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
    Stage,
)
from courses.reminders.bulk import notify_from

CLOSING_WITHIN = timedelta(days=3)
STAGE_WITHIN = timedelta(hours=24)


def _localized(lazy, *suffix):
    """SQL: the text in the recipient's language (User.locale), followed by the SQL pieces."""
    with force_locale("en"):
        english = str(lazy)
    with force_locale("zh_CN"):
        chinese = str(lazy)
    text = case((User.locale == "en", literal(english)), else_=literal(chinese))
    for piece in suffix:
        text = text + piece
    return text


def _id(column):
    return cast(column, String)


def _closing_window(now: datetime):
    return (Competition.status == CompetitionStatus.PUBLISHED, Competition.signup_closes_at > now,
            Competition.signup_closes_at <= now + CLOSING_WITHIN)


def closing_reminders(*, now: datetime) -> int:
    """Sign-up closes within 3 days → followers not entered in any event, and admins who may decide
    entries still waiting."""
    entered = exists().where(EntryMember.user_id == CompetitionFollow.user_id, EntryMember.is_active.is_(True),
                             EntryMember.entry_id == Entry.id, Entry.competition_id == CompetitionFollow.competition_id)
    followers = (
        select(CompetitionFollow.user_id, literal("competition.closing"),
               literal("competition.closing:") + _id(Competition.id) + literal(":") + _id(CompetitionFollow.user_id),
               _localized(_l("Sign-up closes within 3 days: "), Competition.title), literal(""),
               literal("/competitions/") + _id(Competition.id), Competition.signup_closes_at,
               sql_facts(competition=Competition.title, closes_at=Competition.signup_closes_at))
        .select_from(CompetitionFollow).join(Competition, Competition.id == CompetitionFollow.competition_id)
        .join(User, User.id == CompetitionFollow.user_id)
        .where(*_closing_window(now), ~entered, User.is_active.is_(True))
    )
    made = notify_from(followers, "competition.closing", now=now)
    pending, admin_union = aliased(TradeUnion), aliased(TradeUnion)
    admins = (
        select(RoleGrant.user_id, literal("competition.closing"),
               literal("competition.closing.admin:") + _id(Competition.id) + literal(":") + _id(RoleGrant.user_id),
               _localized(_l("Entries wait for your decision; sign-up closes within 3 days: "), Competition.title),
               literal(""), literal("/competitions/approvals"), Competition.signup_closes_at,
               sql_facts(competition=Competition.title, closes_at=Competition.signup_closes_at))
        .select_from(Entry).join(Competition, Competition.id == Entry.competition_id)
        .join(pending, pending.id == Entry.pending_union_id)
        .join(admin_union, pending.path.like(admin_union.path + "%"))
        .join(RoleGrant, (RoleGrant.union_id == admin_union.id) & (RoleGrant.role == Role.UNION_ADMIN))
        .join(User, User.id == RoleGrant.user_id)
        .where(*_closing_window(now), Entry.status.in_(WAITING_STATUSES), User.is_active.is_(True))
        .distinct()
    )
    made += notify_from(admins, "competition.closing", now=now)
    db.session.commit()
    return made


def stage_reminders(*, now: datetime) -> int:
    """A round starts within 24 hours → the people of confirmed entries, with its venue. The reminder
    expires when the round starts."""
    rows = (
        select(EntryMember.user_id, literal("competition.stage"),
               literal("competition.stage:") + _id(Stage.id) + literal(":") + _id(EntryMember.user_id),
               _localized(_l("Your competition round starts within 24 hours: "), Stage.name, literal(" · "),
                          Competition.title),
               _localized(_l("Venue: "), Stage.venue), literal("/competitions/") + _id(Competition.id),
               Stage.starts_at, sql_facts(competition=Competition.title, stage=Stage.name, starts_at=Stage.starts_at,
                                          ends_at=Stage.ends_at, venue=Stage.venue))
        .select_from(Stage).join(Competition, Competition.id == Stage.competition_id)
        .join(Entry, Entry.competition_id == Competition.id).join(EntryMember, EntryMember.entry_id == Entry.id)
        .join(User, User.id == EntryMember.user_id)
        .where(Stage.starts_at > now, Stage.starts_at <= now + STAGE_WITHIN, Entry.status == EntryStatus.CONFIRMED,
               EntryMember.status == MemberStatus.ACCEPTED, EntryMember.is_active.is_(True), User.is_active.is_(True))
        .distinct()
    )
    made = notify_from(rows, "competition.stage", now=now)
    db.session.commit()
    return made


def lapse_unsubmitted_teams(*, now: datetime) -> int:
    """Sign-up has closed → teams still forming lapse and their places free (members may enter again
    if the organizer reopens sign-up); the members who had joined are told. Set-based; a second run
    finds nothing to do. The status changes first, so a team submitted at the last moment is never
    told it lapsed."""
    lapsed = [row[0] for row in db.session.execute(
        update(Entry).where(Entry.status == EntryStatus.FORMING, Entry.competition_id.in_(
            select(Competition.id).where(Competition.signup_closes_at <= now)))
        .values(status=EntryStatus.LAPSED, withdrawn_at=literal(now, UTCDateTime()))
        .returning(Entry.id).execution_options(synchronize_session=False))]
    if not lapsed:
        db.session.commit()
        return 0
    told = (
        select(EntryMember.user_id, literal("competition.entry"),
               literal("competition.team_lapsed:") + _id(Entry.id) + literal(":") + _id(EntryMember.user_id),
               _localized(_l("Your team was not submitted before sign-up closed: "), Competition.title), literal(""),
               literal("/competitions/") + _id(Competition.id), literal(None, UTCDateTime()),
               sql_facts(competition=Competition.title, team=Entry.team_name))
        .select_from(Entry).join(Competition, Competition.id == Entry.competition_id)
        .join(EntryMember, EntryMember.entry_id == Entry.id).join(User, User.id == EntryMember.user_id)
        .where(Entry.id.in_(lapsed), EntryMember.status == MemberStatus.ACCEPTED, EntryMember.is_active.is_(True),
               User.is_active.is_(True))
    )
    notify_from(told, "competition.entry", now=now)
    db.session.execute(update(EntryMember).where(EntryMember.entry_id.in_(lapsed), EntryMember.is_active.is_(True))
                       .values(is_active=False).execution_options(synchronize_session=False))
    db.session.commit()
    return len(lapsed)


def effective_promotions(*, now: datetime) -> int:
    """Pending promotions made effective by a verified certificate issued on or after the award
    (the rule lives in results.effective_promotions)."""
    changed = results.effective_promotions(now=now)
    db.session.commit()
    return changed


def waiting_entries(now: datetime) -> dict[int, dict[str, int]]:
    """For the approvers' digest: {admin id: {"entries": entries whose current step lies in their unions}}."""
    pending, admin_union = aliased(TradeUnion), aliased(TradeUnion)
    rows = db.session.execute(
        select(RoleGrant.user_id, func.count(func.distinct(Entry.id))).select_from(Entry)
        .join(pending, pending.id == Entry.pending_union_id)
        .join(admin_union, pending.path.like(admin_union.path + "%"))
        .join(RoleGrant, (RoleGrant.union_id == admin_union.id) & (RoleGrant.role == Role.UNION_ADMIN))
        .where(Entry.status.in_(WAITING_STATUSES)).group_by(RoleGrant.user_id)
    ).all()
    return {user_id: {"entries": count} for user_id, count in rows}


def init_app(app) -> None:
    """The competitions' scheduled scans and their part of the approvers' digest."""
    registry = app.extensions["classroom"]
    registry.add_approval_counter(waiting_entries, {"entries": _l("competition entries")})
    for name, job in (("competitions.closing", closing_reminders), ("competitions.stages", stage_reminders),
                      ("competitions.promotions", effective_promotions),
                      ("competitions.lapse_teams", lapse_unsubmitted_teams)):
        registry.add_job(name, job, "REMINDER_SCAN_SECONDS")

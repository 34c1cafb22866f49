"""Who may enter an event, and the exact reasons why not.

``check`` is a pure function of the worker, the event (with its competition) and the facts about
the worker that live in other tables (membership, completed courses, verified skill certificates),
which ``load_facts`` reads for many people at once in three queries. An empty list means eligible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from classroom.extensions import db
from classroom.timefmt import local_date
from classroom.unions.models import IN_SCOPE_STATUSES, Membership, MembershipStatus, TradeUnion
from courses.certificates.models import (
    Certificate,
    CertificateStatus,
    ExternalSkillCertificate,
    SkillCertificateStatus,
)
from courses.competitions.models import CompetitionEvent, CompetitionStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus

# The translator's Chinese is in the comments: the exact texts of the issue.
REQUIRES_LEVEL = {
    5: _l("Requires skill level 5 (junior worker) or higher"),  # 需要五级/初级工及以上
    4: _l("Requires skill level 4 (intermediate worker) or higher"),  # 需要四级/中级工及以上
    3: _l("Requires skill level 3 (senior worker) or higher"),  # 需要三级/高级工及以上
    2: _l("Requires skill level 2 (technician) or higher"),  # 需要二级/技师及以上
    1: _l("Requires skill level 1 (senior technician)"),  # 需要一级/高级技师
}
SIGNUP_CLOSED = _l("Sign-up has closed")  # 报名已截止
SIGNUP_NOT_OPEN = _l("Sign-up has not opened")  # 报名尚未开始
NOT_PUBLISHED = _l("Sign-up is not open for this competition")  # 本竞赛不在报名阶段
NO_BIRTH_YEAR = _l("Enter your year of birth")  # 请填写出生年份
NOT_ACTIVE = _l("Requires an active union membership")  # 需要有效的工会会员身份


@dataclass(frozen=True)
class SkillFact:
    occupation: str
    level: int
    issued_on: date


@dataclass(frozen=True)
class Facts:
    """What eligibility needs to know about a worker beyond their own row."""

    membership_status: str | None = None  # active / applied / lapsed, or None
    union_id: int | None = None  # the union of that membership
    union_path: str | None = None
    completed_course_ids: frozenset[int] = frozenset()
    revoked_course_ids: frozenset[int] = frozenset()  # completed, but the completion certificate was revoked
    certificates: tuple[SkillFact, ...] = field(default_factory=tuple)


def check(worker, event: CompetitionEvent, *, now: datetime, facts: Facts) -> list:
    """The reasons ``worker`` may not enter ``event`` now (lazy, translatable texts); [] = eligible."""
    competition = event.competition
    reasons = _window(competition, now)
    reasons += _membership(event, facts)
    reasons += _personal(worker, event, competition.year)
    reasons += _qualifications(event, facts, local_date(now))
    return reasons


def _window(competition, now: datetime) -> list:
    if competition.status != CompetitionStatus.PUBLISHED:
        return [NOT_PUBLISHED]
    if now < competition.signup_opens_at:
        return [SIGNUP_NOT_OPEN]
    if now >= competition.signup_closes_at:
        return [SIGNUP_CLOSED]
    return []


def _membership(event: CompetitionEvent, facts: Facts) -> list:
    organizer = event.competition.organizer_union
    if not facts.union_path or not facts.union_path.startswith(organizer.path):
        # 仅限%(union)s及下级工会会员
        return [_l("Only for members of %(union)s and the unions below it", union=organizer.name)]
    if event.requires_active_membership and facts.membership_status != MembershipStatus.ACTIVE:
        return [NOT_ACTIVE]
    return []


def _personal(worker, event: CompetitionEvent, year: int) -> list:
    reasons = []
    if event.min_skill_level and (worker.skill_level is None or worker.skill_level > event.min_skill_level):
        reasons.append(REQUIRES_LEVEL[event.min_skill_level])
    if event.min_age is not None or event.max_age is not None:
        reasons += _age(worker, event, year)
    if event.min_years_in_trade and (worker.years_in_trade or 0) < event.min_years_in_trade:
        # 需要从事本工种至少%(years)d年
        reasons.append(_l("Requires at least %(years)d years in the trade", years=event.min_years_in_trade))
    return reasons


def _age(worker, event: CompetitionEvent, year: int) -> list:
    """Age is the competition year minus the birth year."""
    if worker.birth_year is None:
        return [NO_BIRTH_YEAR]
    age = year - worker.birth_year
    if event.min_age is not None and age < event.min_age:
        # 年龄须满%(min)d周岁（%(year)d年您%(age)d岁）
        return [_l("Open to ages %(min)d and over (you are %(age)d in %(year)d)", min=event.min_age, age=age,
                   year=year)]
    if event.max_age is not None and age > event.max_age:
        # 年龄不超过%(max)d周岁（%(year)d年您%(age)d岁）
        return [_l("Open to ages up to %(max)d (you are %(age)d in %(year)d)", max=event.max_age, age=age,
                   year=year)]
    return []


def _qualifications(event: CompetitionEvent, facts: Facts, today: date) -> list:
    reasons = []
    if event.required_course_id and event.required_course_id not in facts.completed_course_ids:
        title = event.required_course.title if event.required_course else ""
        if event.required_course_id in facts.revoked_course_ids:
            # 您的《%(course)s》结业证书已被撤销
            reasons.append(_l("Your certificate for the course %(course)s was revoked", course=title))
        else:
            reasons.append(_l("Requires completing the course %(course)s", course=title))  # 需要完成课程《%(course)s》
    occupation = (event.required_certificate_occupation or "").strip()
    if occupation:
        held = [fact for fact in facts.certificates if fact.occupation.strip().casefold() == occupation.casefold()]
        if not held:
            # 需要经审核的%(occupation)s职业技能等级证书
            reasons.append(_l("Requires a verified %(occupation)s skill certificate", occupation=occupation))
        elif not any(_unexpired(fact, event.certificate_valid_years, today) for fact in held):
            # 您的%(occupation)s职业技能等级证书已过有效期
            reasons.append(_l("Your %(occupation)s skill certificate has expired", occupation=occupation))
    return reasons


def _unexpired(fact: SkillFact, valid_years: int | None, today: date) -> bool:
    if not valid_years:
        return True
    issued = fact.issued_on
    year = issued.year + valid_years
    expires = issued.replace(year=year, day=28) if (issued.month, issued.day) == (2, 29) else issued.replace(year=year)
    return today < expires


# ---- the facts, for many people at once -------------------------------------------------------------

MEMBERSHIP_PRIORITY: dict[str, int] = {MembershipStatus.ACTIVE: 0, MembershipStatus.APPLIED: 1,
                                       MembershipStatus.LAPSED: 2}


def load_facts(user_ids: Iterable[int], course_ids: Iterable[int | None] = ()) -> dict[int, Facts]:
    """{user id: Facts} in three queries (memberships, the completed courses among ``course_ids``,
    verified skill certificates: submitted and rejected ones count for nothing). People without any of
    them get empty facts."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    memberships = _memberships(ids)
    completed, revoked = _completed(ids, {course_id for course_id in course_ids if course_id})
    certificates: dict[int, list[SkillFact]] = {}
    for user_id, occupation, level, issued_on in db.session.execute(
            select(ExternalSkillCertificate.user_id, ExternalSkillCertificate.occupation,
                   ExternalSkillCertificate.level, ExternalSkillCertificate.issued_on)
            .where(ExternalSkillCertificate.user_id.in_(ids),
                   ExternalSkillCertificate.status == SkillCertificateStatus.VERIFIED)):
        certificates.setdefault(user_id, []).append(SkillFact(occupation, level, issued_on))
    return {user_id: _facts(memberships.get(user_id), completed.get(user_id, set()), revoked.get(user_id, set()),
                            certificates.get(user_id, [])) for user_id in ids}


def _facts(membership: tuple[str, int, str] | None, completed: set[int], revoked: set[int],
           certificates: list[SkillFact]) -> Facts:
    status, union_id, path = membership or (None, None, None)
    return Facts(status, union_id, path, completed_course_ids=frozenset(completed),
                 revoked_course_ids=frozenset(revoked - completed), certificates=tuple(certificates))


def _memberships(ids: list[int]) -> dict[int, tuple[str, int, str]]:
    """{user id: (status, union id, union path)} of each person's current membership."""
    rows = db.session.execute(
        select(Membership.user_id, Membership.status, TradeUnion.id, TradeUnion.path)
        .join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.user_id.in_(ids), Membership.status.in_(IN_SCOPE_STATUSES))
        .order_by(Membership.applied_at.desc())
    ).all()
    best: dict[int, tuple[str, int, str]] = {}
    for user_id, status, union_id, path in rows:
        known = best.get(user_id)
        if known is None or MEMBERSHIP_PRIORITY[status] < MEMBERSHIP_PRIORITY[known[0]]:
            best[user_id] = (status, union_id, path)
    return best


def _completed(ids: list[int], course_ids: set[int]) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """({user id: courses completed}, {user id: courses completed whose certificate was revoked}): a
    completion counts unless its completion certificate was revoked (revocation is final)."""
    if not course_ids:
        return {}, {}
    revoked_certificate = exists().where(Certificate.enrollment_id == Enrollment.id,
                                         Certificate.status == CertificateStatus.REVOKED)
    found: dict[int, set[int]] = {}
    revoked: dict[int, set[int]] = {}
    for user_id, course_id, is_revoked in db.session.execute(
            select(Enrollment.user_id, Enrollment.course_id, revoked_certificate)
            .where(Enrollment.user_id.in_(ids), Enrollment.course_id.in_(course_ids),
                   Enrollment.status == EnrollmentStatus.COMPLETED)):
        (revoked if is_revoked else found).setdefault(user_id, set()).add(course_id)
    return found, revoked


def facts_for(user, events: Iterable[CompetitionEvent] = ()) -> Facts:
    """One person's facts, enough for these events."""
    if not user.is_authenticated:
        return Facts()
    return load_facts([user.id], [event.required_course_id for event in events])[user.id]

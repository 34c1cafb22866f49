"""The union tree and memberships: the rules and their transactions."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, true, update
from sqlalchemy.orm import aliased, joinedload

from classroom.accounts.models import Consent, Role, RoleGrant, User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.notifications.services import notify
from classroom.pagination import bounded_count
from classroom.personal_data import encrypt, is_id_card, lookup_hash, mask_id_card, normalize_id_card
from classroom.unions import counters
from classroom.unions.models import IN_SCOPE_STATUSES, Membership, MembershipStatus, TradeUnion, UnionKind

ID_CARD_CONSENT = "id_card"


# ---- the tree -------------------------------------------------------------------------

def create_union(parent: TradeUnion | None, name: str, kind: str, *, code: str | None = None,
                 employer: str | None = None, actor=None) -> TradeUnion:
    """Add a node under ``parent`` (None only for the city federation, the root)."""
    _check_placement(kind, parent)
    if code and db.session.scalar(select(TradeUnion.id).where(TradeUnion.code == code)):
        raise Conflict(_l("The code %(code)s is already taken."), code=code)
    union = TradeUnion(name=name.strip(), kind=kind, parent=parent, code=code or None,
                       employer=(employer or "").strip() or None)
    db.session.add(union)
    db.session.flush()
    union.path = f"{parent.path if parent else '/'}{union.id}/"
    union.depth = parent.depth + 1 if parent else 0
    union.code = union.code or f"U{union.id:06d}"
    if actor is not None:
        record_event(actor, "union.create", union, union_id=union.id, name=union.name, kind=kind)
    return union


def _check_placement(kind: str, parent: TradeUnion | None) -> None:
    if kind not in set(UnionKind):
        raise Invalid(_l("Unknown kind of union."))
    if (kind == UnionKind.CITY) != (parent is None):
        raise Invalid(_l("The city federation is the root; every other union needs a parent."))
    if parent is not None and parent.kind == UnionKind.GRASSROOTS:
        raise Invalid(_l("A grassroots union cannot have unions below it."))


def rename_union(union: TradeUnion, name: str, *, employer: str | None, actor) -> None:
    old = union.name
    union.name = name.strip()
    union.employer = (employer or "").strip() or None
    record_event(actor, "union.rename", union, union_id=union.id, old=old, new=union.name)


def move_union(union: TradeUnion, new_parent: TradeUnion, *, actor) -> int:
    """Move a node and its subtree under ``new_parent``; returns the number of nodes moved."""
    if union.parent_id is None:
        raise Invalid(_l("The city federation cannot be moved."))
    if new_parent.path.startswith(union.path):
        raise Invalid(_l("A union cannot be moved below itself."))
    _check_placement(union.kind, new_parent)
    old_path, new_path = union.path, f"{new_parent.path}{union.id}/"
    depth_change = new_parent.depth + 1 - union.depth
    moved = db.session.execute(
        update(TradeUnion)
        .where(TradeUnion.path.startswith(old_path, autoescape=True))
        .values(
            path=literal(new_path) + func.substr(TradeUnion.path, len(old_path) + 1),
            depth=TradeUnion.depth + depth_change,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    union.parent_id = new_parent.id
    record_event(actor, "union.move", union, union_id=union.id, old_path=old_path, new_path=new_path)
    db.session.flush()
    db.session.expire_all()
    return moved


def possible_parents(union: TradeUnion) -> list[tuple[int, str]]:
    """Where a node may move: any non-grassroots node outside its own subtree."""
    rows = db.session.scalars(
        select(TradeUnion).where(TradeUnion.kind != UnionKind.GRASSROOTS,
                                 ~TradeUnion.path.startswith(union.path, autoescape=True))
        .order_by(TradeUnion.path)
    )
    return [(row.id, "— " * row.depth + row.name) for row in rows]


def set_annual_target(union: TradeUnion, minutes: int | None, *, actor) -> None:
    if minutes is not None and not 0 <= minutes <= 1000 * 60:
        raise Invalid(_l("The target must be between 0 and 1000 hours."))
    union.annual_target_minutes = minutes
    record_event(actor, "union.target", union, union_id=union.id, minutes=minutes)


def inherited_target(union: TradeUnion) -> int | None:
    """The nearest annual target set above this node (what applies when it sets none)."""
    ids = union.ancestor_ids()[:-1]
    if not ids:
        return None
    targets = dict(db.session.execute(select(TradeUnion.id, TradeUnion.annual_target_minutes)
                                      .where(TradeUnion.id.in_(ids))).all())
    return next((targets[i] for i in reversed(ids) if targets.get(i) is not None), None)


def search_grassroots(query: str, *, limit: int = 50) -> list[TradeUnion]:
    """Grassroots unions whose name, employer or code contains the query."""
    statement = (
        select(TradeUnion).where(TradeUnion.kind == UnionKind.GRASSROOTS).options(joinedload(TradeUnion.parent))
    )
    query = (query or "").strip()
    if query:
        pattern = f"%{_escape_like(query)}%"
        statement = statement.where(
            TradeUnion.name.ilike(pattern, escape="\\") | TradeUnion.employer.ilike(pattern, escape="\\")
            | TradeUnion.code.ilike(pattern, escape="\\")
        )
    return list(db.session.scalars(statement.order_by(TradeUnion.name).limit(limit)))


def union_label(union: TradeUnion) -> str:
    """"机电公司工会 · 东城区总工会" — enough to tell two similar names apart."""
    return f"{union.name} · {union.parent.name}" if union.parent else union.name


def union_choices(query: str, selected: int | None = None) -> list[tuple[int, str]]:
    """Options for a grassroots-union select: the search results, plus the selected one."""
    found = search_grassroots(query)
    if selected and all(union.id != selected for union in found):
        chosen = db.session.get(TradeUnion, selected)
        if chosen is not None and chosen.kind == UnionKind.GRASSROOTS:
            found.insert(0, chosen)
    return [(union.id, union_label(union)) for union in found]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---- role grants ----------------------------------------------------------------------

def grant_role(user: User, role: str, union: TradeUnion, *, actor) -> RoleGrant:
    if role not in set(Role):
        raise Invalid(_l("Unknown role."))
    existing = db.session.scalar(select(RoleGrant).filter_by(user_id=user.id, role=role, union_id=union.id))
    if existing:
        raise Conflict(_l("This person already holds that role there."))
    grant = RoleGrant(user=user, role=role, union_id=union.id, granted_by_id=getattr(actor, "id", None))
    db.session.add(grant)
    db.session.flush()
    record_event(actor, "role.grant", grant, union_id=union.id, user_id=user.id, role=role)
    return grant


def revoke_role(grant: RoleGrant, *, actor) -> None:
    record_event(actor, "role.revoke", grant, union_id=grant.union_id, user_id=grant.user_id, role=grant.role)
    db.session.delete(grant)


# ---- memberships ----------------------------------------------------------------------

def current_memberships(user_id: int) -> dict[str, Membership]:
    """The person's open memberships by status ("active", "applied")."""
    rows = db.session.scalars(
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.APPLIED]),
        )
    )
    return {row.status: row for row in rows}


def membership_union_at(user_id: int):
    """The union a person's activity counts for now: active membership, else applied, else None."""
    open_rows = current_memberships(user_id)
    row = open_rows.get(MembershipStatus.ACTIVE) or open_rows.get(MembershipStatus.APPLIED)
    return row.union_id if row else None


def apply_for_membership(user: User, union: TradeUnion | None, *, id_card: str | None = None,
                         consent_version: str | None = None, now: datetime) -> Membership:
    """网上申请入会: an application to a grassroots union (a transfer when already a member)."""
    if union is None or union.kind != UnionKind.GRASSROOTS:
        raise Invalid(_l("Choose your grassroots union."), field="union_id")
    open_rows = current_memberships(user.id)
    if MembershipStatus.APPLIED in open_rows:
        raise Conflict(_l("You already have an application waiting for a decision."))
    active = open_rows.get(MembershipStatus.ACTIVE)
    if active is not None and active.union_id == union.id:
        raise Conflict(_l("You are already a member of this union."))
    membership = Membership(user_id=user.id, union_id=union.id, applied_at=now)
    if id_card:
        _attach_id_card(membership, user, id_card, consent_version, now)
    db.session.add(membership)
    db.session.flush()
    return membership


def _attach_id_card(membership: Membership, user: User, id_card: str, consent_version, now) -> None:
    id_card = normalize_id_card(id_card)
    if not is_id_card(id_card):
        raise Invalid(_l("This ID card number is not valid: check its 18 characters."), field="id_card")
    if not consent_version:
        raise Invalid(_l("Agree to the use of your ID card number, or leave it empty."), field="id_card_consent")
    membership.id_card_encrypted = encrypt(id_card)
    membership.id_card_hash = lookup_hash(id_card)
    membership.id_card_masked = mask_id_card(id_card)
    db.session.add(Consent(user_id=user.id, what=ID_CARD_CONSENT, version=consent_version, given_at=now))


def approve_membership(membership: Membership, *, actor, now: datetime) -> Membership:
    """Approve an application: allocate the union's next member number, race-free, and close
    the person's earlier active or lapsed membership as transferred."""
    begin_write(db.session)
    # A transfer: the earlier membership closes first (one active row per person). A lapsed one
    # closes too: it would otherwise keep the person in the old union's scope (its admins seeing
    # and managing a member of another union).
    db.session.execute(
        update(Membership)
        .where(Membership.user_id == membership.user_id,
               Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.LAPSED]),
               Membership.id != membership.id)
        .values(status=MembershipStatus.TRANSFERRED, ended_at=func.coalesce(Membership.ended_at, now))
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(
        update(Membership)
        .where(Membership.id == membership.id, Membership.status == MembershipStatus.APPLIED)
        .values(status=MembershipStatus.ACTIVE, decided_at=now, decided_by_id=actor.id, started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict(_l("This application has already been decided."))
    seq = db.session.execute(
        update(TradeUnion).where(TradeUnion.id == membership.union_id)
        .values(member_seq=TradeUnion.member_seq + 1).returning(TradeUnion.member_seq)
    ).scalar_one()
    db.session.refresh(membership)
    membership.member_no = f"{membership.union.code}-{seq:06d}"
    record_event(actor, "membership.approve", membership, union_id=membership.union_id,
                 user_id=membership.user_id, member_no=membership.member_no)
    notify(membership.user, "membership.approved", f"membership.decided:{membership.id}",
           _l("Your membership of %(union)s is active: member number %(number)s"),
           link="/me", params={"union": membership.union.name, "number": membership.member_no}, now=now)
    return membership


def reject_membership(membership: Membership, reason: str, *, actor, now: datetime) -> Membership:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give a reason, so the applicant knows what to fix."))
    claimed = db.session.execute(
        update(Membership)
        .where(Membership.id == membership.id, Membership.status == MembershipStatus.APPLIED)
        .values(status=MembershipStatus.REJECTED, decided_at=now, decided_by_id=actor.id, reason=reason[:500])
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict(_l("This application has already been decided."))
    db.session.refresh(membership)
    record_event(actor, "membership.reject", membership, union_id=membership.union_id,
                 user_id=membership.user_id, reason=reason)
    notify(membership.user, "membership.rejected", f"membership.decided:{membership.id}",
           _l("Your application to %(union)s was not approved"), _l("Reason: %(reason)s"),
           link="/me", params={"union": membership.union.name, "reason": reason}, now=now)
    return membership


def lapse_membership(membership: Membership, reason: str, *, actor, now: datetime) -> None:
    """End an active membership (the person left the employer, stopped paying dues …)."""
    # Conditional, so that a lapse racing an approval elsewhere (which closes this row as
    # transferred) cannot turn it back into a lapsed row that keeps the person in this scope.
    claimed = db.session.execute(
        update(Membership).where(Membership.id == membership.id, Membership.status == MembershipStatus.ACTIVE)
        .values(status=MembershipStatus.LAPSED, ended_at=now, reason=(reason or "").strip()[:500] or None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise Conflict(_l("Only an active membership can lapse."))
    db.session.refresh(membership)
    record_event(actor, "membership.lapse", membership, union_id=membership.union_id,
                 user_id=membership.user_id, reason=membership.reason)


# ---- queries for the admin pages -----------------------------------------------------

MEMBER_ORDER = (Membership.applied_at, Membership.id)  # newest first; keyset on ix_membership_(union_)applied


def member_key(row) -> tuple:
    """The sort key of a member list's row (its cursor)."""
    return row.Membership.applied_at, row.Membership.id


def subtree_union_ids(union: TradeUnion) -> list[int] | None:
    """The ids of this node's subtree; None for the root, whose subtree is everything."""
    if union.parent_id is None:
        return None
    return list(db.session.scalars(select(TradeUnion.id).where(TradeUnion.path.startswith(union.path,
                                                                                           autoescape=True))))


def _in_subtree(union_ids: list[int] | None):
    if union_ids is None:
        return true()
    return Membership.union_id == union_ids[0] if len(union_ids) == 1 else Membership.union_id.in_(union_ids)


def member_listing(union: TradeUnion, *, q: str = "", status: str = "", trade: str = "",
                   level: str = "", group: str = ""):
    """SELECT (Membership, User, TradeUnion) of the current memberships in this subtree, newest first.
    The subtree is named by its unions' ids, so one union's list walks its own index in order."""
    statement = (
        select(Membership, User, TradeUnion)
        .join(User, User.id == Membership.user_id)
        .join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(_in_subtree(subtree_union_ids(union)),
               Membership.status.in_([status] if status else IN_SCOPE_STATUSES))
        .order_by(Membership.applied_at.desc(), Membership.id.desc())
    )
    if q:
        pattern = f"%{_escape_like(q)}%"
        statement = statement.where(
            User.real_name.ilike(pattern, escape="\\") | User.mobile.ilike(pattern, escape="\\")
            | User.employer.ilike(pattern, escape="\\")
        )
    if trade:
        statement = statement.where(User.trade == trade)
    if level and (skill_level := parse_id(level)) is not None:
        statement = statement.where(User.skill_level == skill_level)
    if group:
        statement = statement.where(User.worker_group == group)
    return statement


def member_total(union: TradeUnion, statement, *, q: str = "", status: str = "", trade: str = "", level: str = "",
                 group: str = "") -> tuple[int, bool]:
    """(how many the member list holds, whether that is a cap): from the counters when only the status
    narrows it, else a count that stops at COUNT_BOUND."""
    if q or trade or level or group:
        return bounded_count(statement)
    counts = counters.subtree_counts(union)
    return sum(counts.get(name, 0) for name in ([status] if status else IN_SCOPE_STATUSES)), False


def pending_applications(union: TradeUnion):
    """SELECT (Membership, User, TradeUnion) of applications waiting in this subtree, oldest first."""
    return (
        select(Membership, User, TradeUnion)
        .join(User, User.id == Membership.user_id)
        .join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(TradeUnion.path.startswith(union.path, autoescape=True),
               Membership.status == MembershipStatus.APPLIED)
        .order_by(Membership.applied_at, Membership.id)
    )


def children_with_counts(union: TradeUnion) -> list[tuple[TradeUnion, int, int]]:
    """Each child node with its subtree's active members and waiting applications, from the member
    counters (one query over the union tree, whatever the number of members)."""
    member_union, counts = aliased(TradeUnion), counters.per_union()
    active = func.coalesce(func.sum(counts.c.members).filter(counts.c.status == MembershipStatus.ACTIVE), 0)
    applied = func.coalesce(func.sum(counts.c.members).filter(counts.c.status == MembershipStatus.APPLIED), 0)
    rows = db.session.execute(
        select(TradeUnion, active, applied)
        .where(TradeUnion.parent_id == union.id)
        .outerjoin(member_union, member_union.path.startswith(TradeUnion.path))
        .outerjoin(counts, counts.c.union_id == member_union.id)
        .group_by(TradeUnion.id)
        .order_by(TradeUnion.name)
    ).all()
    return [(row[0], int(row[1]), int(row[2])) for row in rows]


def subtree_counts(union: TradeUnion) -> dict[str, int]:
    """Active members and waiting applications in this node's subtree (from the member counters)."""
    counts = counters.subtree_counts(union)
    wanted = (MembershipStatus.ACTIVE, MembershipStatus.APPLIED)
    return {status: counts[status] for status in wanted if counts.get(status)}

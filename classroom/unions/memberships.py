"""Memberships: applying online (网上申请入会), approval with a race-free member number, rejection, lapse."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Update, func, select, update

from classroom.accounts.models import Consent, User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.personal_data import encrypt, is_id_card, lookup_hash, mask_id_card, normalize_id_card
from classroom.unions.models import Membership, MembershipStatus, TradeUnion, UnionKind

ID_CARD_CONSENT = "id_card"
ALREADY_DECIDED = _l("This application has already been decided.")


def current_memberships(user_id: int) -> dict[str, Membership]:
    """The person's open memberships by status ("active", "applied")."""
    rows = db.session.scalars(
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.APPLIED]),
        )
    )
    return {row.status: row for row in rows}


def membership_union_at(user_id: int) -> int | None:
    """The union a person's activity counts for now: active membership, else applied, else None."""
    open_rows = current_memberships(user_id)
    row = open_rows.get(MembershipStatus.ACTIVE) or open_rows.get(MembershipStatus.APPLIED)
    return row.union_id if row else None


def membership_history(user_id: int) -> list[Membership]:
    """Every membership of the person, newest application first, with its union."""
    return list(db.session.scalars(
        select(Membership).where(Membership.user_id == user_id).join(Membership.union)
        .order_by(Membership.applied_at.desc())
    ))


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


def _attach_id_card(membership: Membership, user: User, id_card: str, consent_version: str | None,
                    now: datetime) -> None:
    id_card = normalize_id_card(id_card)
    if not is_id_card(id_card):
        raise Invalid(_l("This ID card number is not valid: check its 18 characters."), field="id_card")
    if not consent_version:
        raise Invalid(_l("Agree to the use of your ID card number, or leave it empty."), field="id_card_consent")
    membership.id_card_encrypted = encrypt(id_card)
    membership.id_card_hash = lookup_hash(id_card)
    membership.id_card_masked = mask_id_card(id_card)
    db.session.add(Consent(user_id=user.id, what=ID_CARD_CONSENT, version=consent_version, given_at=now))


def _changed(statement: Update) -> int:
    """How many rows a conditional UPDATE changed (0: its condition no longer held)."""
    return cast(CursorResult[Any], db.session.execute(statement.execution_options(synchronize_session=False))).rowcount


def approve_membership(membership: Membership, *, actor: Any, now: datetime) -> Membership:
    """Approve an application: allocate the union's next member number, race-free, and close
    the person's earlier active or lapsed membership as transferred."""
    begin_write(db.session)
    # A transfer: the earlier membership closes first (one active row per person). A lapsed one
    # closes too: it would otherwise keep the person in the old union's scope (its admins seeing
    # and managing a member of another union).
    _changed(update(Membership)
             .where(Membership.user_id == membership.user_id,
                    Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.LAPSED]),
                    Membership.id != membership.id)
             .values(status=MembershipStatus.TRANSFERRED, ended_at=func.coalesce(Membership.ended_at, now)))
    if not _changed(update(Membership)
                    .where(Membership.id == membership.id, Membership.status == MembershipStatus.APPLIED)
                    .values(status=MembershipStatus.ACTIVE, decided_at=now, decided_by_id=getattr(actor, "id", None),
                            started_at=now)):
        raise Conflict(ALREADY_DECIDED)  # the caller rolls back: the transfer above is undone with it
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


def reject_membership(membership: Membership, reason: str, *, actor: Any, now: datetime) -> Membership:
    """Turn an application down with a reason the applicant reads."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give a reason, so the applicant knows what to fix."))
    if not _changed(update(Membership)
                    .where(Membership.id == membership.id, Membership.status == MembershipStatus.APPLIED)
                    .values(status=MembershipStatus.REJECTED, decided_at=now, decided_by_id=getattr(actor, "id", None),
                            reason=reason[:500])):
        raise Conflict(ALREADY_DECIDED)
    db.session.refresh(membership)
    record_event(actor, "membership.reject", membership, union_id=membership.union_id,
                 user_id=membership.user_id, reason=reason)
    notify(membership.user, "membership.rejected", f"membership.decided:{membership.id}",
           _l("Your application to %(union)s was not approved"), _l("Reason: %(reason)s"),
           link="/me", params={"union": membership.union.name, "reason": reason}, now=now)
    return membership


def lapse_membership(membership: Membership, reason: str | None, *, actor: Any, now: datetime) -> None:
    """End an active membership (the person left the employer, stopped paying dues …)."""
    # Conditional, so that a lapse racing an approval elsewhere (which closes this row as
    # transferred) cannot turn it back into a lapsed row that keeps the person in this scope.
    if not _changed(update(Membership)
                    .where(Membership.id == membership.id, Membership.status == MembershipStatus.ACTIVE)
                    .values(status=MembershipStatus.LAPSED, ended_at=now,
                            reason=(reason or "").strip()[:500] or None)):
        raise Conflict(_l("Only an active membership can lapse."))
    db.session.refresh(membership)
    record_event(actor, "membership.lapse", membership, union_id=membership.union_id,
                 user_id=membership.user_id, reason=membership.reason)

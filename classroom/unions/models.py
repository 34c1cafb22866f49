"""The union tree (materialized path) and memberships."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class UnionKind(enum.StrEnum):
    CITY = "city"
    DISTRICT = "district"
    INDUSTRY = "industry"
    GRASSROOTS = "grassroots"


UNION_KIND_LABELS = {
    UnionKind.CITY: _l("City federation"),
    UnionKind.DISTRICT: _l("District union"),
    UnionKind.INDUSTRY: _l("Industry union"),
    UnionKind.GRASSROOTS: _l("Grassroots union"),
}


class TradeUnion(Model):
    """One node of the union tree. ``path`` is "/1/4/17/": its ancestors' ids and its own,
    so a node and everything below it is one indexed prefix query."""

    __tablename__ = "trade_union"
    __table_args__ = (
        Index("ix_trade_union_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(20), unique=True)  # set from the id when not given
    kind: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="")
    depth: Mapped[int] = mapped_column(default=0)
    employer: Mapped[str | None] = mapped_column(String(100))
    annual_target_minutes: Mapped[int | None]
    member_seq: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[TradeUnion | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[TradeUnion]] = relationship(back_populates="parent", order_by="TradeUnion.name")

    @property
    def kind_label(self) -> str:
        """The kind of union as pages name it."""
        return str(UNION_KIND_LABELS.get(UnionKind(self.kind), self.kind))

    @property
    def is_grassroots(self) -> bool:
        """Whether members belong here directly."""
        return self.kind == UnionKind.GRASSROOTS

    def ancestor_ids(self) -> list[int]:
        """The ids on the path, root first, this node last."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def __repr__(self) -> str:
        return f"<TradeUnion {self.id} {self.path} {self.name}>"


class MembershipStatus(enum.StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"
    LAPSED = "lapsed"


# A person belongs to a union's subtree (for its admins) through a membership in these states.
IN_SCOPE_STATUSES = (MembershipStatus.APPLIED, MembershipStatus.ACTIVE, MembershipStatus.LAPSED)

MEMBERSHIP_STATUS_LABELS = {
    MembershipStatus.APPLIED: _l("Applied"),
    MembershipStatus.ACTIVE: _l("Active"),
    MembershipStatus.REJECTED: _l("Rejected"),
    MembershipStatus.TRANSFERRED: _l("Transferred"),
    MembershipStatus.LAPSED: _l("Lapsed"),
}


class Membership(Model):
    """A person's membership of one grassroots union. A transfer closes one row and opens
    another, so the history stays. At most one applied and one active row per person."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("union_id", "member_no"),
        Index(
            "uq_membership_one_active", "user_id", unique=True,
            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_membership_one_applied", "user_id", unique=True,
            sqlite_where=text("status = 'applied'"), postgresql_where=text("status = 'applied'"),
        ),
        Index("ix_membership_union_status", "union_id", "status"),
        # the member lists: newest first by keyset, in one union or across a subtree; a common name's
        # search walks them testing person and status from the index alone (unions.queries.member_listing)
        Index("ix_membership_union_applied", "union_id", "applied_at", "id", postgresql_include=["user_id", "status"]),
        Index("ix_membership_applied", "applied_at", "id", postgresql_include=["user_id", "status"]),
        # the applications waiting, oldest first by keyset, in one union or across a subtree
        Index("ix_membership_union_waiting", "union_id", "applied_at", "id",
              sqlite_where=text("status = 'applied'"), postgresql_where=text("status = 'applied'")),
        Index("ix_membership_waiting", "applied_at", "id",
              sqlite_where=text("status = 'applied'"), postgresql_where=text("status = 'applied'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"))
    status: Mapped[str] = mapped_column(String(12), default=MembershipStatus.APPLIED)
    member_no: Mapped[str | None] = mapped_column(String(32))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    id_card_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_card_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_card_masked: Mapped[str | None] = mapped_column(String(18))

    user = relationship("User", foreign_keys=[user_id])
    union: Mapped[TradeUnion] = relationship()

    @property
    def status_label(self) -> str:
        """The status as pages name it."""
        return str(MEMBERSHIP_STATUS_LABELS.get(MembershipStatus(self.status), self.status))

    def __repr__(self) -> str:
        return f"<Membership {self.id} user={self.user_id} union={self.union_id} {self.status}>"

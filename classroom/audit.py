"""AuditEvent: who did what to which object, when, and from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from classroom.database import utcnow
from classroom.extensions import Model, db


class AuditEvent(Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_union_created", "union_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id", ondelete="SET NULL"))
    ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.object_type}:{self.object_id} by {self.actor_id}>"


def record_event(actor: object, action: str, obj: object = None, *, union_id: int | None = None,
                 object_type: str | None = None, object_id: int | None = None, **data: object) -> AuditEvent:
    """Add an audit row to the current transaction; the caller commits with its change."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__ if obj is not None else object_type,
        object_id=getattr(obj, "id", None) if obj is not None else object_id,
        union_id=union_id,
        ip=request.remote_addr if has_request_context() else None,
        data={key: _plain(value) for key, value in data.items()},
    )
    db.session.add(event)
    return event


def _plain(value: object) -> object:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)

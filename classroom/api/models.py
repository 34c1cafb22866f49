"""The JSON API's own rows: signed-in devices and their tokens, partner API keys, idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class ApiDevice(Model):
    """One app signed in on one device: the family of its access and refresh tokens. Revoking it (log-out,
    the person's devices page, a refresh token used twice) refuses every token of the family at its next use."""

    __tablename__ = "api_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(20))  # logout / user / reuse / closed

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<ApiDevice {self.id} user={self.user_id} {self.name!r}>"


class ApiToken(Model):
    """An access or refresh token of a device; only its SHA-256 is stored. A refresh token is used once:
    ``used_at`` is set when it is exchanged for the next pair."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("api_device.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # access / refresh
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.kind} device={self.device_id}>"


class ApiKey(Model):
    """A partner system's key: a union subtree and named scopes. Shown once, stored as its SHA-256;
    ``prefix`` (its first characters) lets people tell keys apart."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    union = relationship("TradeUnion")

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix} union={self.union_id}>"


class IdempotencyRecord(Model):
    """An ``Idempotency-Key`` of one caller: claimed (no status yet) while its request runs, then the
    answer it got, replayed for a repeat within the retention window."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("owner", "key"), Index("ix_idempotency_record_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))  # user:<id> or key:<id>
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # the method, path and body it was first used with
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<IdempotencyRecord {self.owner} {self.key!r} {self.status_code}>"


PUSH_PLATFORMS = ("apns", "fcm", "hms", "mipush", "oppo", "vivo", "honor", "jpush", "getui")


class ApiPushToken(Model):
    """A signed-in device's push token (APNs, FCM, a phone maker's service …), kept for a push gateway to come:
    one per device, and a token belongs to one device only (a phone signed in again as someone else moves it).
    It goes with its device: revoked devices are never pushed to, and closing an account deletes them."""

    __tablename__ = "api_push_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("api_device.id", ondelete="CASCADE"), unique=True)
    platform: Mapped[str] = mapped_column(String(10))
    token: Mapped[str] = mapped_column(String(512), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    device = relationship("ApiDevice")

    def __repr__(self) -> str:
        return f"<ApiPushToken {self.id} {self.platform} device={self.device_id}>"

"""Which reminder waves went out: one row per kind and object (a class session's 24 h wave …),
so a repeated scan finds nothing to do without re-reading every enrollment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from classroom.database import utcnow
from classroom.extensions import Model


class ReminderWave(Model):
    __tablename__ = "reminder_wave"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    object_id: Mapped[int] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ReminderWave {self.kind} {self.object_id}>"

"""Attendance of class sessions, and the check-in secret of a session."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


ATTENDANCE_LABELS = {
    AttendanceStatus.PRESENT: _l("Present"),
    AttendanceStatus.LATE: _l("Late"),
    AttendanceStatus.ABSENT: _l("Absent"),
    AttendanceStatus.EXCUSED: _l("Excused"),
}

# How an attendance was recorded.
METHOD_LABELS = {
    "roster": _l("Roster"),
    "checkin": _l("Self check-in"),
    "badge": _l("Badge scan"),
    "upload": _l("Paper roster"),
}

# Statuses that earn the session's credited minutes.
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


class Attendance(Model):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "user_id"), Index("ix_attendance_user", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(10))  # roster / checkin / badge / upload
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[int] = mapped_column(default=0)  # how often the status flipped between attended and not

    user = relationship("User", foreign_keys=[user_id])

    @property
    def status_label(self) -> str:
        return str(ATTENDANCE_LABELS.get(AttendanceStatus(self.status), self.status))

    @property
    def method_label(self) -> str:
        return str(METHOD_LABELS.get(self.method, self.method))

    def __repr__(self) -> str:
        return f"<Attendance session={self.session_id} user={self.user_id} {self.status}>"


class SessionCheckin(Model):
    """Self check-in opened for a class session: the secret its rotating codes derive from."""

    __tablename__ = "session_checkin"

    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<SessionCheckin session={self.session_id}>"

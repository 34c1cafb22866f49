"""Enrollments: one per person and course; capacity, waitlist and approval."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, column, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class EnrollmentStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for approval
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    DROPPED = "dropped"
    REJECTED = "rejected"
    COMPLETED = "completed"


ENROLLMENT_STATUS_LABELS = {
    EnrollmentStatus.PENDING: _l("Waiting for approval"),
    EnrollmentStatus.ENROLLED: _l("Enrolled"),
    EnrollmentStatus.WAITLISTED: _l("On the waitlist"),
    EnrollmentStatus.DROPPED: _l("Dropped"),
    EnrollmentStatus.REJECTED: _l("Not approved"),
    EnrollmentStatus.COMPLETED: _l("Completed"),
}

# Statuses that hold a seat in the course.
SEATED = (EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED)


class Enrollment(Model):
    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        Index("ix_enrollment_course_status", "course_id", "status", "waitlist_seq"),
        Index("ix_enrollment_user_status", "user_id", "status"),
        Index("ix_enrollment_course_status_enrolled", "course_id", "status", "enrolled_at"),  # late sign-ups
        # a course's roster by keyset in ROSTER_ORDER (courses.study.queries), whole or of one status
        Index("ix_enrollment_roster", "course_id", "status", func.coalesce(column("waitlist_seq"), 0),
              "requested_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12))
    waitlist_seq: Mapped[int | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_at: Mapped[datetime | None]
    dropped_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    last_studied_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))

    user = relationship("User", foreign_keys=[user_id])
    course = relationship("Course")

    @property
    def status_label(self) -> str:
        return str(ENROLLMENT_STATUS_LABELS.get(EnrollmentStatus(self.status), self.status))

    def __repr__(self) -> str:
        return f"<Enrollment {self.id} user={self.user_id} course={self.course_id} {self.status}>"

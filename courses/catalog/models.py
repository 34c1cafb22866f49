"""Courses, their lessons, attachments, class sessions, revisions and announcements."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class CourseMode(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    BLENDED = "blended"


MODE_LABELS = {
    CourseMode.ONLINE: _l("Online"),
    CourseMode.OFFLINE: _l("In class"),
    CourseMode.BLENDED: _l("Blended"),
}


class CourseStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    ARCHIVED = "archived"


STATUS_LABELS = {
    CourseStatus.DRAFT: _l("Draft"),
    CourseStatus.PENDING: _l("Waiting for review"),
    CourseStatus.PUBLISHED: _l("Published"),
    CourseStatus.ARCHIVED: _l("Archived"),
}

# Fields whose change after publication waits for review as a revision (DESIGN §2): hours,
# schedule, capacity, completion rule, and who hosts the course and may see it. Changes to the
# course's class sessions and to its lessons' credited minutes wait too (courses/catalog/revisions.py).
MATERIAL_FIELDS = ("credit_minutes", "capacity", "min_lesson_share", "min_attendance_share", "min_exam_score",
                   "enroll_opens_at", "enroll_closes_at", "starts_on", "ends_on", "certificate_months",
                   "host_union_id", "scope_union_id")


class CourseInstructor(Model):
    __tablename__ = "course_instructor"

    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True)

    def __repr__(self) -> str:
        return f"<CourseInstructor course={self.course_id} user={self.user_id}>"


class Course(Model):
    __tablename__ = "course"
    __table_args__ = (
        Index("ix_course_status_scope_published", "status", "scope_union_id", "published_at"),
        Index("ix_course_status_published", "status", "published_at"),
        Index("ix_course_status_starts", "status", "starts_on"),
        Index("ix_course_status_popular", "status", "enrolled_count"),
        Index("ix_course_pending", "submitted_at", "id",  # the review queue
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(50), index=True)
    target_level: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    mode: Mapped[str] = mapped_column(String(10), default=CourseMode.ONLINE, index=True)
    credit_minutes: Mapped[int] = mapped_column(default=0)
    host_union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"), index=True)
    studio: Mapped[str | None] = mapped_column(String(100))
    scope_union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=CourseStatus.DRAFT)
    enroll_opens_at: Mapped[datetime | None]
    enroll_closes_at: Mapped[datetime | None]
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    capacity: Mapped[int | None]
    requires_approval: Mapped[bool] = mapped_column(default=False)
    min_lesson_share: Mapped[int] = mapped_column(SmallInteger, default=100)  # percent of lessons
    min_attendance_share: Mapped[int] = mapped_column(SmallInteger, default=0)  # percent of sessions
    min_exam_score: Mapped[int | None] = mapped_column(SmallInteger)  # percent; None = no exam needed
    certificate_months: Mapped[int | None]
    enrolled_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    waitlist_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    waitlist_seq: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # What the course page shows of the course (its fields, lessons, sessions, instructors, host, announcements)
    # changes only with this number, raised in the same transaction (courses/catalog/versions.py); the seat
    # counters above change without it. A process keeps the page's drawing of each version.
    content_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(String(500))

    host_union = relationship("TradeUnion", foreign_keys=[host_union_id])
    scope_union = relationship("TradeUnion", foreign_keys=[scope_union_id])
    instructors = relationship("User", secondary="course_instructor", order_by="User.id", viewonly=True)
    lessons: Mapped[list[Lesson]] = relationship(back_populates="course", order_by="Lesson.position",
                                                 cascade="all, delete-orphan")
    sessions: Mapped[list[ClassSession]] = relationship(back_populates="course", order_by="ClassSession.starts_at",
                                                        cascade="all, delete-orphan")

    @property
    def mode_label(self) -> str:
        return str(MODE_LABELS.get(CourseMode(self.mode), self.mode))

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(CourseStatus(self.status), self.status))

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.enrolled_count)

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.status} {self.title!r}>"


class Lesson(Model):
    __tablename__ = "lesson"
    __table_args__ = (Index("ix_lesson_course_position", "course_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    video_url: Mapped[str | None] = mapped_column(String(500))
    credit_minutes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship(back_populates="lessons")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="lesson", order_by="Attachment.id",
                                                         cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Lesson {self.id} course={self.course_id} #{self.position}>"


class Attachment(Model):
    """A file of a lesson, stored under a random name outside static/."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="attachments")

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.original_name!r}>"


CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "venue_name", "venue_address")  # what a calendar entry shows


class ClassSession(Model):
    """线下课 / 班次: one class meeting at a venue (a worker service station, a culture palace …)."""

    __tablename__ = "class_session"
    __table_args__ = (Index("ix_class_session_course_starts", "course_id", "starts_at"),
                      Index("ix_class_session_starts", "starts_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    venue_name: Mapped[str] = mapped_column(String(100))
    venue_address: Mapped[str | None] = mapped_column(String(200))
    credit_minutes: Mapped[int] = mapped_column(default=0)
    series_key: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The calendar feed's SEQUENCE and LAST-MODIFIED: bumped by change() when what a calendar shows moves.
    sequence: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship(back_populates="sessions")

    def __repr__(self) -> str:
        return f"<ClassSession {self.id} course={self.course_id} {self.starts_at:%Y-%m-%d %H:%M}>"

    def change(self, values: dict[str, Any], *, now: datetime) -> None:
        """Set ``values``; a new time, venue or title is a new revision of the class in calendars."""
        if any(name in values and values[name] != getattr(self, name) for name in CALENDAR_FIELDS):
            self.sequence = (self.sequence or 0) + 1
            self.updated_at = now
        for name, value in values.items():
            setattr(self, name, value)


class RevisionStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # by its instructor, or when the course was archived


class CourseRevision(Model):
    """A material change to a published course, waiting for review while the live one stays.
    ``changes`` holds the proposed course fields and the proposed operations on the course's
    class sessions and lessons; its format is documented in courses/catalog/revisions.py."""

    __tablename__ = "course_revision"
    __table_args__ = (
        Index("uq_course_revision_one_pending", "course_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_course_revision_pending", "submitted_at", "id",  # the review queue
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=RevisionStatus.PENDING)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))

    course: Mapped[Course] = relationship()

    def __repr__(self) -> str:
        return f"<CourseRevision {self.id} course={self.course_id} {self.status}>"


class Announcement(Model):
    __tablename__ = "announcement"
    __table_args__ = (Index("ix_announcement_course_created", "course_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    include_waitlisted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User")

    def __repr__(self) -> str:
        return f"<Announcement {self.id} course={self.course_id}>"


class CourseFollow(Model):
    """A worker follows a course to hear when its enrollment window is about to close."""

    __tablename__ = "course_follow"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CourseFollow user={self.user_id} course={self.course_id}>"

"""The training-hours ledger (学时记录), append-only, and the rollups that serve the reports."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class HoursSource(enum.StrEnum):
    LESSON = "lesson"
    SESSION = "session"
    EXTERNAL = "external"
    ADJUSTMENT = "adjustment"


SOURCE_LABELS = {
    HoursSource.LESSON: _l("Online lesson"),
    HoursSource.SESSION: _l("Class session"),
    HoursSource.EXTERNAL: _l("External training"),
    HoursSource.ADJUSTMENT: _l("Adjustment"),
}


class HoursEntry(Model):
    """One credit (or reversal, with negative minutes). Never edited: corrections are new rows.
    ``source_key`` is unique, so the same lesson or session can never be credited twice.
    ``union_id`` is the person's grassroots union when the hours were earned."""

    __tablename__ = "hours_entry"
    __table_args__ = (
        Index("ix_hours_entry_user_earned", "user_id", "earned_on"),
        Index("ix_hours_entry_union_earned", "union_id", "earned_on"),
        Index("ix_hours_entry_earned", "earned_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    minutes: Mapped[int]
    source: Mapped[str] = mapped_column(String(12))
    source_key: Mapped[str] = mapped_column(String(120), unique=True)
    earned_on: Mapped[date] = mapped_column(Date)
    union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id", ondelete="SET NULL"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(50), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str | None] = mapped_column(String(500))
    evidence_name: Mapped[str | None] = mapped_column(String(200))
    evidence_stored: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    union = relationship("TradeUnion")

    @property
    def source_label(self) -> str:
        """Where the entry comes from, in the reader's language."""
        return str(SOURCE_LABELS.get(HoursSource(self.source), self.source))

    @property
    def note_label(self) -> str | None:
        """The note as shown: the ledger's own codes translated, a person's words as written."""
        return str(NOTE_LABELS[self.note]) if self.note in NOTE_LABELS else self.note

    def __repr__(self) -> str:
        return f"<HoursEntry {self.source_key} {self.minutes:+d}>"


# Notes the ledger itself writes, stored as codes and shown in the reader's language.
REVERSAL_NOTE = "reversal: attendance changed"
SESSION_REMOVED_NOTE = "reversal: class session removed"
NOTE_LABELS = {REVERSAL_NOTE: _l("Reversed: the attendance was changed"),
               SESSION_REMOVED_NOTE: _l("Reversed: the class session was removed from the course")}


class HoursMonth(Model):
    """Minutes per union, month, source and course category: kept in the ledger's own
    transaction, so year, quarter and month totals read a few rows instead of the ledger.
    ``union_id`` 0 stands for "no union"."""

    __tablename__ = "hours_month"
    __table_args__ = (UniqueConstraint("union_id", "month", "source", "category"),
                      Index("ix_hours_month_month", "month"))

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int] = mapped_column(index=True)
    month: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(50))
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    entries: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<HoursMonth union={self.union_id} {self.month} {self.source} {self.minutes}>"


class HoursYear(Model):
    """Minutes per person, year and union: who has hours, and who met the annual target.

    ``member``: the person is a member of the union at the end of the year (``ends_at``, the platform's midnight
    starting the next year). ``shared``: the person has rows of other unions that year too (moved), so the union
    report counts them once per group of unions. Both kept by ``rollups``: set when the row is made, and
    ``member`` by triggers on ``membership`` whenever the person's memberships change."""

    __tablename__ = "hours_year"
    __table_args__ = (UniqueConstraint("user_id", "year", "union_id"), Index("ix_hours_year_union", "year", "union_id"),
                      Index("ix_hours_year_shared", "year", "union_id", postgresql_where=text("shared"),
                            sqlite_where=text("shared")))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(SmallInteger)
    union_id: Mapped[int]
    minutes: Mapped[int] = mapped_column(default=0)
    ends_at: Mapped[datetime]
    member: Mapped[bool] = mapped_column(default=False, server_default=false())
    shared: Mapped[bool] = mapped_column(default=False, server_default=false())

    def __repr__(self) -> str:
        return f"<HoursYear user={self.user_id} {self.year} union={self.union_id} {self.minutes}>"


class HoursUnionYear(Model):
    """Per union and year, from its ``HoursYear`` rows: ``minutes``; ``workers``, the people whose minutes there
    add up to more than 0; ``beyond``, those whose minutes put them on the other side of ``target`` from someone without
    hours (target > 0: minutes ≥ target; target 0: minutes < 0); ``outside``, those of them who are no members
    at the year's end. Kept in the ledger's transaction and by the membership triggers; ``target`` is the
    union's effective annual target when its people were counted (a changed target is recounted by the
    ``hours.retarget`` job; until then the report counts that union's rows itself)."""

    __tablename__ = "hours_union_year"

    union_id: Mapped[int] = mapped_column(primary_key=True)  # 0: no union
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    workers: Mapped[int] = mapped_column(default=0)
    target: Mapped[int | None]
    beyond: Mapped[int] = mapped_column(default=0)
    outside: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<HoursUnionYear union={self.union_id} {self.year} {self.workers} {self.target}:{self.beyond}>"


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the file is in storage under ``storage_key``
    FAILED = "failed"


EXPORT_STATUS_LABELS = {
    ExportStatus.QUEUED: _l("Waiting to be built"),
    ExportStatus.RUNNING: _l("Being built"),
    ExportStatus.DONE: _l("Ready to download"),
    ExportStatus.FAILED: _l("Failed"),
}


class ReportExport(Model):
    """A large hours-report export, built by a queue task into storage for the admin who asked (and only
    them, while the union stays in their scope): what was asked, where the file is, how far it got."""

    __tablename__ = "report_export"
    __table_args__ = (Index("ix_report_export_requester_created", "requested_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    by: Mapped[str] = mapped_column(String(12))  # the report's breakdown (union / trade / group …)
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date]
    period_end: Mapped[date]
    period_label: Mapped[str] = mapped_column(String(40))
    file_format: Mapped[str] = mapped_column(String(4))  # csv / xlsx
    locale: Mapped[str] = mapped_column(String(10))  # the requester's language: the file's headers
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.QUEUED)
    rows: Mapped[int | None]  # rows expected when asked; rows written once done
    storage_key: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    union = relationship("TradeUnion")

    @property
    def status_label(self) -> str:
        return str(EXPORT_STATUS_LABELS.get(ExportStatus(self.status), self.status))

    @property
    def is_busy(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    def __repr__(self) -> str:
        return f"<ReportExport {self.id} union={self.union_id} {self.file_format} {self.status}>"

"""ImportJob: one uploaded member file, from preview to commit (run inline or in the background)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class ImportStatus(enum.StrEnum):
    VALIDATING = "validating"  # the preview is being computed
    INVALID = "invalid"  # rows have errors: nothing can be written
    READY = "ready"  # previewed without errors, waiting for the admin's commit
    RUNNING = "running"  # the commit is being written (one transaction)
    DONE = "done"
    FAILED = "failed"  # an unexpected error or an interruption: nothing was written


IMPORT_STATUS_LABELS = {
    ImportStatus.VALIDATING: _l("Checking the rows"),
    ImportStatus.INVALID: _l("Errors in the file"),
    ImportStatus.READY: _l("Ready to import"),
    ImportStatus.RUNNING: _l("Importing"),
    ImportStatus.DONE: _l("Imported"),
    ImportStatus.FAILED: _l("Failed"),
}


class ImportJob(Model):
    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_union_created", "union_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str | None] = mapped_column(String(64))  # under instance/imports/, removed when done
    file_format: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.VALIDATING)
    phase: Mapped[str | None] = mapped_column(String(12))
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    invited_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [row, column, code, other row]
    message: Mapped[str | None] = mapped_column(String(500))
    send_sms: Mapped[bool] = mapped_column(default=True)
    links_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet: {user id: token}, for hand-out
    seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    union = relationship("TradeUnion")

    @property
    def status_label(self) -> str:
        """The status as the page names it."""
        return str(IMPORT_STATUS_LABELS.get(ImportStatus(self.status), self.status))

    @property
    def is_busy(self) -> bool:
        """Whether a run works on it (checking or writing)."""
        return self.status in (ImportStatus.VALIDATING, ImportStatus.RUNNING)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} union={self.union_id} {self.status}>"

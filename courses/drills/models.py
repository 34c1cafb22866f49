"""Question banks (网上练兵): banks owned by a union, versioned questions, practice records, the mistake
book, favourites, mock exams drawn per person by a blueprint, and their attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from classroom.database import utcnow
from classroom.extensions import Model

KINDS = ("single", "multiple", "true_false", "blank")


class QuestionBank(Model):
    __tablename__ = "drill_bank"
    __table_args__ = (Index("ix_drill_bank_union", "union_id"), Index("ix_drill_bank_trade", "trade", "skill_level"))

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    trade: Mapped[str | None] = mapped_column(String(50))
    skill_level: Mapped[int | None] = mapped_column(SmallInteger)
    daily_size: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")  # 每日一练: questions a day
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<QuestionBank {self.id} {self.title}>"


class DrillQuestion(Model):
    """A question's identity (bank, code, kind) and its current version's content, copied for queries;
    every version's content is kept in QuestionVersion, which answers are scored against."""

    __tablename__ = "drill_question"
    __table_args__ = (UniqueConstraint("bank_id", "code"), Index("ix_drill_question_bank_id", "bank_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    difficulty: Mapped[int] = mapped_column(SmallInteger, default=2)  # 1 easy, 2 medium, 3 hard
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)  # the current QuestionVersion's number
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuestionVersion(Model):
    """One version of a question as shown: ``answer`` is option indexes (single, multiple, true/false:
    0 true, 1 false) or, for blanks, a list per blank of its accepted texts."""

    __tablename__ = "drill_question_version"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("drill_question.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[list[Any]] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
    difficulty: Mapped[int] = mapped_column(SmallInteger, default=2)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the stem's image: its stored name under the upload folder's drills/ (kept by later versions) and alt text
    image_key: Mapped[str | None] = mapped_column(String(80))
    image_alt: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<QuestionVersion {self.question_id} v{self.number}>"


class PracticeAnswer(Model):
    __tablename__ = "drill_practice_answer"
    __table_args__ = (Index("ix_drill_practice_user_bank", "user_id", "bank_id", "question_id"),
                      Index("ix_drill_practice_bank_time", "bank_id", "answered_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("drill_question.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("drill_question_version.id", ondelete="CASCADE"),
                                            index=True)
    right: Mapped[bool]
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mistake(Model):
    """错题本: a question answered wrong, until answered right on two different days (``right_on`` is the
    first of those days; a wrong answer clears it)."""

    __tablename__ = "drill_mistake"
    __table_args__ = (UniqueConstraint("user_id", "question_id"),
                      Index("ix_drill_mistake_user_bank", "user_id", "bank_id", "cleared_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("drill_question.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    wrong_count: Mapped[int] = mapped_column(default=1)
    right_on: Mapped[date | None] = mapped_column(Date)
    cleared_at: Mapped[datetime | None]


class Favourite(Model):
    __tablename__ = "drill_favourite"
    __table_args__ = (UniqueConstraint("user_id", "question_id"), Index("ix_drill_favourite_user_bank",
                                                                        "user_id", "bank_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("drill_question.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DrillImport(Model):
    """An uploaded question file, checked: its rows (as read) and every row's errors, until committed."""

    __tablename__ = "drill_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    rows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[datetime | None]


class MockExam(Model):
    """A mock exam on a bank: ``blueprint`` is a list of {kind, difficulty|None, tag|None, count, points}."""

    __tablename__ = "drill_mock_exam"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column(SmallInteger, default=60)
    pass_score: Mapped[int] = mapped_column(SmallInteger, default=60)
    blueprint: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # set when the exam is a competition stage's online theory round: its scores go to the stage's results
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("competition_stage.id", ondelete="CASCADE"),
                                                 unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MockAttempt(Model):
    """One person's paper (version ids in order, points each), timed on the server; one open at a time."""

    __tablename__ = "drill_mock_attempt"
    __table_args__ = (
        Index("uq_drill_mock_attempt_open", "exam_id", "user_id", unique=True,
              sqlite_where=text("submitted_at IS NULL"), postgresql_where=text("submitted_at IS NULL")),
        Index("ix_drill_mock_attempt_user", "user_id", "exam_id"),
        Index("ix_drill_mock_attempt_exam", "exam_id", "submitted_at"),
        Index("ix_drill_mock_attempt_deadline", "deadline_at", postgresql_where=text("submitted_at IS NULL"),
              sqlite_where=text("submitted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("drill_mock_exam.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    paper: Mapped[list[Any]] = mapped_column(JSON)  # [[version id, points], …]
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("competition_entry.id", ondelete="CASCADE"),
                                                 index=True)  # a theory round's paper: the entry it scores
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    score: Mapped[int | None] = mapped_column(SmallInteger)  # percent
    focus_lost: Mapped[int] = mapped_column(default=0)  # times the page was left while the paper was open


class MockAnswer(Model):
    """An answer saved as the worker goes: one small row per question of the paper."""

    __tablename__ = "drill_mock_answer"
    __table_args__ = (UniqueConstraint("attempt_id", "version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("drill_mock_attempt.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("drill_question_version.id", ondelete="CASCADE"),
                                            index=True)
    answer: Mapped[list[Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class DailyPlan(Model):
    """每日一练 turned on: the person gets the bank's ``daily_size`` questions a day."""

    __tablename__ = "drill_daily_plan"
    __table_args__ = (UniqueConstraint("user_id", "bank_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<DailyPlan user={self.user_id} bank={self.bank_id}>"


class DailySet(Model):
    """One person's questions of one day (their local date) in a bank, drawn once and kept: the question
    ids in order, those answered, and when the last of them was."""

    __tablename__ = "drill_daily_set"
    __table_args__ = (UniqueConstraint("user_id", "bank_id", "day"),
                      Index("ix_drill_daily_set_done", "user_id", "day", "completed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("drill_bank.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    questions: Mapped[list[int]] = mapped_column(JSON, default=list)
    answered: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<DailySet user={self.user_id} bank={self.bank_id} {self.day}>"

"""Lesson progress and exams."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class LessonProgress(Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"), Index("ix_lesson_progress_lesson", "lesson_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    first_opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds_studied: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    # How far down the lesson page the person last was, in thousandths of its height ("Continue" returns there).
    read_permille: Mapped[int | None] = mapped_column(SmallInteger)

    def __repr__(self) -> str:
        return f"<LessonProgress user={self.user_id} lesson={self.lesson_id} {self.seconds_studied}s>"


class Exam(Model):
    __tablename__ = "exam"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    pass_score: Mapped[int] = mapped_column(SmallInteger, default=60)  # percent
    attempt_limit: Mapped[int | None] = mapped_column(SmallInteger, default=3)
    time_limit_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    shuffle: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    questions: Mapped[list[Question]] = relationship(back_populates="exam", order_by="Question.position",
                                                     cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Exam {self.id} course={self.course_id}>"


class Question(Model):
    """A single- or multiple-choice question. ``options`` is a list of texts; ``correct``
    the indexes of the right ones. Neither the list of correct indexes nor anything derived
    from it ever reaches the browser before submission."""

    __tablename__ = "question"
    __table_args__ = (Index("ix_question_exam_position", "exam_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10), default="single")  # single / multiple
    points: Mapped[int] = mapped_column(SmallInteger, default=1)
    options: Mapped[list[str]] = mapped_column(JSON)
    correct: Mapped[list[int]] = mapped_column(JSON)

    exam: Mapped[Exam] = relationship(back_populates="questions")

    def __repr__(self) -> str:
        return f"<Question {self.id} exam={self.exam_id} #{self.position}>"


class ExamAttempt(Model):
    __tablename__ = "exam_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(SmallInteger)
    question_order: Mapped[list[int]] = mapped_column(JSON)
    option_orders: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    score: Mapped[int | None] = mapped_column(SmallInteger)  # percent
    passed: Mapped[bool | None]
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("exam_id", "user_id", "number"),
                      Index("ix_exam_attempt_user_exam", "user_id", "exam_id"))

    def __repr__(self) -> str:
        return f"<ExamAttempt {self.id} exam={self.exam_id} user={self.user_id} #{self.number}>"

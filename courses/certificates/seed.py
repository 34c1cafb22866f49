"""Demo certificates for `flask seed-demo`: a few workers finish the online courses without an exam
(through the real study services, so hours and certificates follow), and the demo worker records a
skill-level certificate that waits for the union's check. Runs after the demo courses exist."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, timedelta

import segno
from flask import current_app
from sqlalchemy import select

from classroom.accounts.models import User
from classroom.extensions import db
from courses.catalog.models import ClassSession, Course, Lesson
from courses.certificates import skills
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.study.models import LessonProgress
from courses.study.services import complete_lesson

DEMO_WORKER = "13800000006"
FINISHERS = 12


def seed_certificates(*, now: datetime, rng: random.Random) -> None:
    """Demo completions (and their certificates) and one skill-level certificate waiting for its check."""
    enrollments = db.session.scalars(
        select(Enrollment).join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.status == EnrollmentStatus.ENROLLED, Course.min_exam_score.is_(None),
               ~select(ClassSession.id).where(ClassSession.course_id == Course.id).exists())
        .order_by(Enrollment.id)
    ).all()
    demo = db.session.scalar(select(User).where(User.mobile == DEMO_WORKER))
    chosen = [e for e in enrollments if demo is not None and e.user_id == demo.id][:1]
    chosen += rng.sample([e for e in enrollments if e not in chosen], min(FINISHERS, len(enrollments) - len(chosen)))
    lessons = _lessons_by_course({e.course_id for e in chosen})
    for enrollment in chosen:
        _finish(enrollment, lessons.get(enrollment.course_id, []), now=now - timedelta(days=rng.randint(1, 30)))
    if demo is not None:
        _record_skill_certificate(demo, now=now)


def _lessons_by_course(course_ids: set[int]) -> dict[int, list[Lesson]]:
    found: dict[int, list[Lesson]] = {}
    for lesson in db.session.scalars(select(Lesson).where(Lesson.course_id.in_(course_ids))
                                     .order_by(Lesson.course_id, Lesson.position)):
        found.setdefault(lesson.course_id, []).append(lesson)
    return found


def _finish(enrollment: Enrollment, lessons: list[Lesson], *, now: datetime) -> None:
    """Study every lesson long enough, then complete them: the last completes the course."""
    user = enrollment.user
    for lesson in lessons:
        db.session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id, course_id=lesson.course_id,
                                      first_opened_at=now - timedelta(hours=2), last_seen_at=now,
                                      seconds_studied=lesson.credit_minutes * 60))
    db.session.flush()
    for lesson in lessons:
        complete_lesson(user, lesson, now=now)


def _record_skill_certificate(user: User, *, now: datetime) -> None:
    issued_on = date(now.year - 1, 6, 18)
    number = f"S0731{32}000105{issued_on.year % 100:02d}{user.skill_level or 4}000218"
    scan = io.BytesIO()
    segno.make(number).save(scan, kind="png", scale=6)
    skills.record(user, number=number, occupation=user.trade or "电工", level=user.skill_level or 4,
                  evaluation_body="江苏省职业技能鉴定指导中心", issued_on=issued_on, filename="证书扫描件.png",
                  stream=scan.getvalue(), now=now, folder=current_app.config["UPLOAD_FOLDER"],
                  max_bytes=current_app.config["UPLOAD_MAX_BYTES"])

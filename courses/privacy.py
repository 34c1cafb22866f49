"""The learning domain's part of personal-data rights: what a person downloads about themselves,
and what closing an account erases (records others rely on stay, without the personal data)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select, update

from classroom.accounts.privacy import ERASED
from classroom.extensions import db
from courses.attendance.models import Attendance
from courses.catalog.attachments import remove_after_commit
from courses.catalog.models import ClassSession, Course, CourseFollow
from courses.certificates.models import Certificate, ExternalSkillCertificate
from courses.certificates.skills import scan_folder
from courses.competitions.models import Entry, EntryMember
from courses.enrollment.models import Enrollment
from courses.hours.models import HoursEntry, HoursSource
from courses.study.models import ExamAttempt, LessonProgress


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def enrollments(user) -> list[dict]:
    """The person's sign-ups: course, status and their dates."""
    rows = db.session.execute(select(Enrollment, Course.title).join(Course, Course.id == Enrollment.course_id)
                              .where(Enrollment.user_id == user.id).order_by(Enrollment.id)).all()
    return [{"course": title, "status": row.status, "requested_at": _iso(row.requested_at),
             "enrolled_at": _iso(row.enrolled_at), "completed_at": _iso(row.completed_at)} for row, title in rows]


def studying(user) -> dict:
    """The person's lesson progress and exam attempts."""
    lessons = db.session.scalars(select(LessonProgress).where(LessonProgress.user_id == user.id)).all()
    attempts = db.session.scalars(select(ExamAttempt).where(ExamAttempt.user_id == user.id)).all()
    return {"lessons": [{"lesson_id": p.lesson_id, "seconds_studied": p.seconds_studied,
                         "completed_at": _iso(p.completed_at)} for p in lessons],
            "exam_attempts": [{"exam_id": a.exam_id, "number": a.number, "score": a.score, "passed": a.passed,
                               "submitted_at": _iso(a.submitted_at)} for a in attempts]}


def attendance(user) -> list[dict]:
    """The class sessions recorded for the person, with status and how it was recorded."""
    rows = db.session.execute(select(Attendance, ClassSession)
                              .join(ClassSession, ClassSession.id == Attendance.session_id)
                              .where(Attendance.user_id == user.id)).all()
    return [{"session_starts_at": _iso(session.starts_at), "venue": session.venue_name, "status": row.status,
             "method": row.method} for row, session in rows]


def hours(user) -> list[dict]:
    """The person's training-hours ledger."""
    rows = db.session.scalars(select(HoursEntry).where(HoursEntry.user_id == user.id).order_by(HoursEntry.id))
    return [{"earned_on": row.earned_on.isoformat(), "minutes": row.minutes, "source": row.source,
             "title": row.title} for row in rows]


def certificates(user) -> dict:
    """The certificates issued to the person and the skill certificates they recorded."""
    issued = db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)).all()
    external = db.session.scalars(select(ExternalSkillCertificate)
                                  .where(ExternalSkillCertificate.user_id == user.id)).all()
    return {"issued": [{"serial": c.serial, "kind": c.kind, "status": c.status, "document": c.document}
                       for c in issued],
            "external": [{"number": c.number, "occupation": c.occupation, "level": c.level, "status": c.status}
                         for c in external]}


def competition_entries(user) -> list[dict]:
    """The competition entries the person is in, their part in each, and the results."""
    rows = db.session.execute(select(EntryMember, Entry).join(Entry, Entry.id == EntryMember.entry_id)
                              .where(EntryMember.user_id == user.id)).all()
    return [{"entry_id": entry.id, "event_id": entry.event_id, "status": entry.status,
             "role": "captain" if member.is_captain else "member", "member_status": member.status,
             "rank": entry.rank, "award": entry.award} for member, entry in rows]


def erase(user, now: datetime) -> None:
    """Pseudonymize what others rely on (certificates, hours), drop the rest."""
    pseudonym = f"已注销用户#{user.id}"
    for certificate in db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)):
        certificate.snapshot = {**certificate.snapshot, "holder_name": pseudonym}
    folder = scan_folder(current_app.config["UPLOAD_FOLDER"])
    for external in db.session.scalars(select(ExternalSkillCertificate)
                                       .where(ExternalSkillCertificate.user_id == user.id)):
        if external.scan_stored_name:
            remove_after_commit(external.scan_stored_name, f"{folder}/{external.scan_stored_name}")
        db.session.delete(external)
    db.session.execute(update(HoursEntry).where(HoursEntry.user_id == user.id, HoursEntry.note.is_not(None))
                       .values(note=ERASED))
    db.session.execute(update(HoursEntry).where(HoursEntry.user_id == user.id,
                                                HoursEntry.source == HoursSource.ADJUSTMENT).values(title=ERASED))
    db.session.execute(delete(CourseFollow).where(CourseFollow.user_id == user.id))


SECTIONS = {"enrollments": enrollments, "studying": studying, "attendance": attendance, "training_hours": hours,
            "certificates": certificates, "competition_entries": competition_entries}


def init_app(app) -> None:
    """The learning records' parts of a person's data download, and what closing an account erases."""
    registry = app.extensions["classroom"]
    registry.data_sections.update(SECTIONS)
    registry.erasures.append(erase)

"""Certificates under concurrency: one certificate per enrollment however many completion events
race, and consecutive serials without gaps or repeats when many courses complete at once."""

from __future__ import annotations

from sqlalchemy import func, select

from classroom.database import begin_write, utcnow
from classroom.extensions import db
from courses.certificates.models import Certificate, CertificateCounter, SigningKey
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from courses.study.hooks import enrollment_completed
from courses.study.services import evaluate_completion
from tests.concurrency import run_at_once
from tests.test_certificates import complete


def in_own_context(app, action):
    """Run ``action()`` in a fresh app context (its own session and connection), committing after."""
    with app.app_context():
        try:
            begin_write(db.session)
            result = action()
            db.session.commit()
            return result
        finally:
            db.session.remove()


def test_ten_concurrent_completion_events_give_one_certificate(app, tree, make_user, make_course):
    course = make_course("电工安全", lessons=0, min_lesson_share=0)
    enrollment_id = complete(make_user(union=tree.a1), course).id
    db.session.execute(Certificate.__table__.delete())  # as if the event had not been handled yet
    db.session.execute(CertificateCounter.__table__.delete())
    db.session.execute(SigningKey.__table__.delete())  # and the first key is made in the race too
    db.session.commit()

    def fire(_index):  # the completion event itself, as the courses feature sends it
        def send():
            enrollment_completed.send(db.session.get(Enrollment, enrollment_id), now=utcnow())
            return db.session.scalar(select(Certificate.serial).where(Certificate.enrollment_id == enrollment_id))

        return in_own_context(app, send)

    results = run_at_once(10, fire)
    assert all(isinstance(result, str) for result in results), results
    assert len(set(results)) == 1
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert db.session.scalar(select(CertificateCounter.last_seq)) == 1  # no serial burnt by the losers
    assert db.session.scalar(select(func.count()).select_from(SigningKey)) == 1


def test_hundred_concurrent_completions_get_distinct_consecutive_serials(app, tree, make_user, make_course):
    courses = [make_course(f"课程{index}", lessons=0, min_lesson_share=0) for index in range(10)]
    people = [make_user(f"学员{index}", union=tree.a1) for index in range(10)]
    ids = []
    for course in courses:
        for person in people:
            ids.append(enroll(person, course, now=utcnow()).id)
        db.session.commit()

    def finish(index):
        return in_own_context(app, lambda: evaluate_completion(db.session.get(Enrollment, ids[index]), now=utcnow()))

    results = run_at_once(100, finish, timeout=120)
    assert results == [True] * 100, [r for r in results if r is not True][:3]
    certificates = db.session.scalars(select(Certificate)).all()
    assert len(certificates) == 100 and len({c.enrollment_id for c in certificates}) == 100
    assert sorted(c.seq for c in certificates) == list(range(1, 101))
    assert len({c.serial for c in certificates}) == 100

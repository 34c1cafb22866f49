"""A course's lessons. A lesson's title, text and video change at once; on a published course a
new lesson, a change of credited minutes and a deletion change the hours: they wait for review."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from classroom.domain import Invalid
from classroom.extensions import db
from courses.catalog.models import Course, CourseRevision, Lesson
from courses.catalog.permissions import can_edit, editing, require
from courses.catalog.revisions import LESSON_FIELDS, Change, hold, is_held, pending_revision


def _lesson_fields(data: dict) -> dict:
    fields = {name: data[name] for name in LESSON_FIELDS if name in data}
    if fields.get("video_url") and not str(fields["video_url"]).startswith(("https://", "http://")):
        raise Invalid(_l("A video link starts with https://"), field="video_url")
    return fields


def add_lesson(course: Course, data: dict, *, actor, now: datetime) -> Change[Lesson]:
    """A lesson at the end of the course; on a published course it waits in the pending revision."""
    fields = _lesson_fields(data)
    course = editing(course, actor)
    if is_held(course):
        revision = hold(course, lambda held: held.add_lesson(fields), actor=actor, now=now, operation="lesson.add")
        return Change(revision=revision or pending_revision(course.id))
    last = db.session.scalar(select(func.max(Lesson.position)).where(Lesson.course_id == course.id)) or 0
    lesson = Lesson(course_id=course.id, position=last + 1, created_at=now, **fields)
    db.session.add(lesson)
    db.session.flush()
    return Change(made=lesson)


def update_lesson(lesson: Lesson, data: dict, *, actor, now: datetime) -> CourseRevision | None:
    """Change a lesson; on a published course its credited minutes wait for review (the
    revision is returned when this call changed it)."""
    fields = _lesson_fields(data)
    course = editing(lesson.course, actor)
    minutes = fields.pop("credit_minutes", None) if is_held(course) else None
    for name, value in fields.items():
        setattr(lesson, name, value)
    if minutes is None:
        return None
    return hold(course, lambda held: held.set_lesson_minutes(lesson, minutes), actor=actor, now=now,
                operation="lesson.update")


def save_lesson(course: Course, lesson: Lesson | None, data: dict, *, actor, now: datetime) -> Change[Lesson]:
    """Add a lesson (``lesson`` None) or change ``lesson``: what went live, what waits for review."""
    if lesson is None:
        return add_lesson(course, data, actor=actor, now=now)
    return Change(made=lesson, revision=update_lesson(lesson, data, actor=actor, now=now))


def delete_lesson(lesson: Lesson, *, actor, now: datetime) -> CourseRevision | None:
    """Delete a lesson (and its files); on a published course the deletion waits for review
    in the pending revision (returned)."""
    course = editing(lesson.course, actor)
    if is_held(course):
        lesson_id = lesson.id
        return hold(course, lambda held: held.delete_lesson(lesson_id), actor=actor, now=now,
                    operation="lesson.delete") or pending_revision(course.id)
    course_id, position = lesson.course_id, lesson.position
    db.session.delete(lesson)
    db.session.flush()
    db.session.execute(update(Lesson).where(Lesson.course_id == course_id, Lesson.position > position)
                       .values(position=Lesson.position - 1).execution_options(courses=[course_id]))
    return None


def move_lesson(lesson: Lesson, direction: int, *, actor) -> None:
    """Swap a lesson with its neighbour above (-1) or below (+1)."""
    require(can_edit(actor, lesson.course))
    neighbour = db.session.scalar(select(Lesson).filter_by(course_id=lesson.course_id,
                                                           position=lesson.position + direction))
    if neighbour is not None:
        lesson.position, neighbour.position = neighbour.position, lesson.position

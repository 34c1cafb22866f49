"""Lesson attachments: upload (instructors) and download (readers of the course)."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.http import owned_or_404, perform, perform_quietly
from classroom.storage import storage
from courses.catalog import teach_views as teach
from courses.catalog.attachments import ACCEPT, delete_attachment, size_label, store_attachment
from courses.catalog.models import Attachment, Course, Lesson
from courses.enrollment.services import can_manage_enrollments
from courses.study import services as study
from courses.study import views as study_views

bp = Blueprint("attachments", __name__)
NAME_SHOWN = 80  # characters of a file name repeated in a flash message (it lives in the session cookie)


@bp.app_template_global()
def attachment_accept() -> str:
    return ACCEPT


@bp.app_template_filter("file_size")
def file_size(size: int) -> str:
    return size_label(size)


def _editable_lesson_or_404(course_id: int, lesson_id: int) -> Lesson:
    return teach.lesson_or_404(teach.editable_course_or_404(course_id), lesson_id)


def _attachment_or_404(lesson: Lesson, attachment_id: int) -> Attachment:
    return owned_or_404(Attachment, attachment_id, lesson_id=lesson.id)


def _back(lesson: Lesson):
    return redirect(url_for("teach.lesson_form", course_id=lesson.course_id, lesson_id=lesson.id) + "#attachments")


def _short(name: str) -> str:
    # Control characters (a refused name may hold "\0") are not allowed in HTML: shown as "\ufffd".
    name = "".join("\ufffd" if unicodedata.category(char) == "Cc" else char for char in name)
    return name if len(name) <= NAME_SHOWN else name[:NAME_SHOWN] + "…"


@bp.route("/teach/courses/<int:course_id>/lessons/<int:lesson_id>/attachments", methods=["POST"])
@login_required
def upload(course_id: int, lesson_id: int):
    lesson = _editable_lesson_or_404(course_id, lesson_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a file to upload."), "danger")
        return _back(lesson)
    config = current_app.config
    outcome = perform_quietly(lambda: store_attachment(lesson, file.filename, file.stream, actor=current_user,
                                                       now=utcnow(), folder=config["UPLOAD_FOLDER"],
                                                       max_bytes=config["UPLOAD_MAX_BYTES"]))
    if outcome.error:
        flash(_("%(name)s was not uploaded: %(reason)s", name=_short(file.filename), reason=str(outcome.error)),
              "danger")
    else:
        flash(_("%(name)s uploaded.", name=_short(file.filename)), "success")
    return _back(lesson)


@bp.route("/teach/courses/<int:course_id>/lessons/<int:lesson_id>/attachments/<int:attachment_id>/delete",
          methods=["POST"])
@login_required
def delete(course_id: int, lesson_id: int, attachment_id: int):
    lesson = _editable_lesson_or_404(course_id, lesson_id)
    attachment = _attachment_or_404(lesson, attachment_id)
    name = attachment.original_name
    perform(lambda: delete_attachment(attachment, actor=current_user, folder=current_app.config["UPLOAD_FOLDER"]),
            success=_("%(name)s deleted.", name=_short(name)))
    return _back(lesson)


def _may_study(course: Course) -> bool:
    """The lesson page's rule: enrolled (or done), or managing the course."""
    return study.is_studying(current_user.id, course.id) or can_manage_enrollments(current_user, course)


@bp.route("/courses/<int:course_id>/lessons/<int:position>/files/<int:attachment_id>")
@login_required
def download(course_id: int, position: int, attachment_id: int):
    course, lesson = study_views.lesson_or_404(course_id, position)  # 404 unless can_access
    attachment = _attachment_or_404(lesson, attachment_id)
    if not _may_study(course):
        return study_views.to_course_page(course)
    return storage().download(attachment.stored_name, attachment.original_name, attachment.content_type)

"""The notice's files (rules, the sign-up form …): uploaded by the organizer, stored outside static/."""

from __future__ import annotations

import os
from datetime import datetime

from classroom.audit import record_event
from classroom.extensions import db
from courses.catalog.attachments import discard_file, place_file, receive_file, remove_after_commit
from courses.competitions.access import require_changeable
from courses.competitions.models import Competition, CompetitionAttachment

FILE_FOLDER = "competitions"


def file_folder(upload_folder: str) -> str:
    """Where the notice files live under the upload folder."""
    return os.path.join(upload_folder, FILE_FOLDER)


def add_attachment(competition: Competition, filename: str | None, stream, *, actor, now: datetime, folder: str,
                   max_bytes: int) -> CompetitionAttachment:
    """Check an upload and keep it as a file of the notice; it lives or dies with the transaction."""
    require_changeable(actor, competition)
    stored = receive_file(filename, stream, folder=file_folder(folder), max_bytes=max_bytes)
    try:
        attachment = CompetitionAttachment(competition_id=competition.id, original_name=stored.original_name,
                                           stored_name=stored.stored_name, content_type=stored.content_type,
                                           size=stored.size, uploaded_by_id=actor.id, uploaded_at=now)
        db.session.add(attachment)
        db.session.flush()
        place_file(stored, file_folder(folder))
    finally:
        discard_file(stored.temp_path)
    record_event(actor, "competition.file.add", attachment, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=attachment.original_name)
    return attachment


def delete_attachment(attachment: CompetitionAttachment, competition: Competition, *, actor, folder: str) -> None:
    """Delete the row now and its file once the transaction commits."""
    require_changeable(actor, competition)
    remove_after_commit(attachment.stored_name, os.path.join(file_folder(folder), attachment.stored_name))
    record_event(actor, "competition.file.delete", attachment, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=attachment.original_name)
    db.session.delete(attachment)

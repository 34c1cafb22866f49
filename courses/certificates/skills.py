"""Skill-level certificates (职业技能等级证书) from outside evaluation bodies: the worker records one with a
scan, an admin of their union verifies or rejects it; the highest verified level becomes theirs.
These are never shown as this platform's own certificates (no serial, no signature, no /verify).

The 22-character number: Y (employer) or S (social training and evaluation body), 4 digits of the
evaluation body, 2 of the province (GB/T 2260), 6 of the site, 2 of the year, 1 of the level (1–5),
6 of the serial.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ScalarSelect, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.pagination import bounded_count_of
from classroom.timefmt import local_date
from classroom.unions.memberships import membership_union_at
from classroom.unions.models import TradeUnion
from classroom.unions.scope import admin_paths, under
from courses.catalog.attachments import clean_name, discard_file, extension_of, place_file, receive_file
from courses.certificates.models import ExternalSkillCertificate, SkillCertificateStatus

NUMBER_RE = re.compile(r"([YS])(\d{4})(\d{2})(\d{6})(\d{2})([1-5])(\d{6})")
PROVINCES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                       "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
                       "65", "71", "81", "82"})
SCAN_TYPES = ("pdf", "png", "jpg", "jpeg")
SCAN_FOLDER = "skill-certificates"
MAX_OPEN_PER_PERSON = 30  # keeps /me/certificates a short list


def normalize_number(value: str | None) -> str:
    """A typed certificate number without spaces or hyphens, in capitals."""
    return re.sub(r"[\s\-]", "", value or "").upper()


def check_number(number: str, level: int, issued_on: date) -> str:
    """The number normalised, or Invalid naming what is wrong with it."""
    number = normalize_number(number)
    if len(number) != 22:
        raise Invalid(_l("The certificate number has 22 characters; this one has %(count)d."), field="number",
                      count=len(number))
    match = NUMBER_RE.fullmatch(number)
    if not match:
        raise Invalid(_l("The number starts with Y or S followed by 21 digits; the 16th is the level (1–5)."),
                      field="number")
    _kind, _body, province, _site, year, number_level, _serial = match.groups()
    if province not in PROVINCES:
        raise Invalid(_l("Characters 6–7 (%(code)s) are not a province code."), field="number", code=province)
    if 2000 + int(year) > issued_on.year:
        raise Invalid(_l("The year in the number (20%(year)s) is after the date of issue."), field="number",
                      year=year)
    if int(number_level) != level:
        raise Invalid(_l("The level in the number (%(number_level)s) is not the level you chose (%(level)d)."),
                      field="level", number_level=number_level, level=level)
    return number


def record(user: User, *, number: str, occupation: str, level: int, evaluation_body: str, issued_on: date,
           filename: str | None, stream, now: datetime, folder: str, max_bytes: int) -> ExternalSkillCertificate:
    """Record a certificate with its scan, waiting for an admin; the scan lives or dies with the transaction."""
    if issued_on > local_date(now):
        raise Invalid(_l("The date of issue is in the future."), field="issued_on")
    number = check_number(number, level, issued_on)
    _refuse_duplicates(user, number)
    row = ExternalSkillCertificate(user_id=user.id, union_id=membership_union_at(user.id), number=number,
                                   occupation=occupation.strip(), level=level,
                                   evaluation_body=evaluation_body.strip(), issued_on=issued_on, submitted_at=now)
    try:
        with db.session.begin_nested():
            _store_scan(row, filename, stream, folder=os.path.join(folder, SCAN_FOLDER), max_bytes=max_bytes)
    except IntegrityError:
        raise Conflict(_l("This certificate number is already recorded."), field="number") from None
    record_event(user, "skill_certificate.recorded", row, union_id=row.union_id, number=number, level=level)
    return row


def _refuse_duplicates(user: User, number: str) -> None:
    taken = db.session.scalar(select(ExternalSkillCertificate.id).where(
        ExternalSkillCertificate.number == number, ExternalSkillCertificate.status != SkillCertificateStatus.REJECTED))
    if taken is not None:
        raise Conflict(_l("This certificate number is already recorded."), field="number")
    open_count = db.session.scalar(select(func.count()).select_from(ExternalSkillCertificate).where(
        ExternalSkillCertificate.user_id == user.id,
        ExternalSkillCertificate.status != SkillCertificateStatus.REJECTED)) or 0
    if open_count >= MAX_OPEN_PER_PERSON:
        raise Conflict(_l("You have recorded %(count)d certificates, the most one person may."),
                       count=MAX_OPEN_PER_PERSON)


def _store_scan(row: ExternalSkillCertificate, filename: str | None, stream, *, folder: str,
                max_bytes: int) -> None:
    """The checks and the write-then-rename of lesson attachments (same rules, same clean-up)."""
    if extension_of(clean_name(filename)) not in SCAN_TYPES:
        raise Invalid(_l("Upload the scan as PDF, PNG or JPEG."), field="file")
    stored = receive_file(filename, stream, folder=folder, max_bytes=max_bytes)
    try:
        row.scan_name, row.scan_stored_name = stored.original_name, stored.stored_name
        row.scan_content_type, row.scan_size = stored.content_type, stored.size
        db.session.add(row)
        db.session.flush()
        place_file(stored, folder)
    finally:
        discard_file(stored.temp_path)


def scan_folder(upload_folder: str) -> str:
    """Where the scans of skill-level certificates are kept, inside the upload folder."""
    return os.path.join(upload_folder, SCAN_FOLDER)


def level_after_verification(current: int | None, highest_verified: int) -> int:
    """The person's level once a certificate is verified: their highest verified one (1 = 高级技师 is
    the highest, 5 = 初级工 the lowest), unless the level their union recorded is higher already —
    verifying an older, lower certificate never lowers it."""
    return highest_verified if current is None else min(current, highest_verified)


def decide(row: ExternalSkillCertificate, *, verified: bool, reason: str, actor, now: datetime) -> None:
    """Verify (the person's skill level becomes their highest verified one) or reject with a reason."""
    reason = (reason or "").strip()
    if not verified and not reason:
        raise Invalid(_l("Say why the certificate is rejected."), field="reason")
    status = SkillCertificateStatus.VERIFIED if verified else SkillCertificateStatus.REJECTED
    changed = db.session.execute(
        update(ExternalSkillCertificate).where(ExternalSkillCertificate.id == row.id,
                                               ExternalSkillCertificate.status == SkillCertificateStatus.SUBMITTED)
        .values(status=status, decided_by_id=actor.id, decided_at=now, reason=reason[:500] or None)
        .returning(ExternalSkillCertificate.id).execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        raise Conflict(_l("This certificate has already been decided."))
    db.session.refresh(row)
    if verified:  # this row is verified now, so the person has a lowest verified level
        row.user.skill_level = level_after_verification(row.user.skill_level, db.session.scalar(
            select(func.min(ExternalSkillCertificate.level)).where(
                ExternalSkillCertificate.user_id == row.user_id,
                ExternalSkillCertificate.status == SkillCertificateStatus.VERIFIED)) or row.level)
    record_event(actor, f"skill_certificate.{status}", row, union_id=row.union_id, number=row.number,
                 level=row.level, reason=reason or None)
    title = _l("Your skill certificate %(number)s was verified") if verified else \
        _l("Your skill certificate %(number)s was not accepted")
    notify(row.user, "skill_certificate.decided", f"skill_certificate.decided:{row.id}", title,
           _l("Reason: %(reason)s") if reason else "", link="/me/certificates",
           params={"number": row.number, "reason": reason}, now=now)


def in_scope(admin: User) -> Select[ExternalSkillCertificate]:
    """SELECT of the recorded certificates whose person's union (when recorded) the admin manages."""
    statement = select(ExternalSkillCertificate)
    paths = admin_paths(admin)
    if paths is None:
        return statement
    return statement.join(TradeUnion, TradeUnion.id == ExternalSkillCertificate.union_id).where(under(paths))


def managed_record(admin: User, record_id: int) -> ExternalSkillCertificate | None:
    """One recorded certificate of the admin's scope."""
    return db.session.scalar(in_scope(admin).where(ExternalSkillCertificate.id == record_id))


# oldest first: keyset on ix_external_skill_certificate_union_status (a subtree) or _status_submitted (everyone)
LISTING_ORDER = (ExternalSkillCertificate.submitted_at, ExternalSkillCertificate.id)


def record_key(record: ExternalSkillCertificate) -> tuple:
    """The sort key of a recorded certificate in the admins' list (its cursor)."""
    return record.submitted_at, record.id


def listing(admin: User, status: str) -> Select[ExternalSkillCertificate]:
    """SELECT of the admin's recorded certificates in one status, with their people, oldest first."""
    return (in_scope(admin).where(ExternalSkillCertificate.status == status)
            .options(joinedload(ExternalSkillCertificate.user))
            .order_by(ExternalSkillCertificate.submitted_at, ExternalSkillCertificate.id))


def waiting(admin: User) -> ScalarSelect[int]:
    """SQL: how many recorded certificates of the admin's scope wait for a decision, counting no further
    than one past COUNT_BOUND (``pagination.capped`` reads it; the home page asks with its other figures)."""
    return bounded_count_of(in_scope(admin).where(ExternalSkillCertificate.status == SkillCertificateStatus.SUBMITTED))


def mine(user_id: int) -> Select[ExternalSkillCertificate]:
    """SELECT of a person's recorded certificates, newest first (bounded)."""
    return (select(ExternalSkillCertificate).where(ExternalSkillCertificate.user_id == user_id)
            .order_by(ExternalSkillCertificate.submitted_at.desc()).limit(MAX_OPEN_PER_PERSON + 20))

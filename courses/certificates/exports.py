"""The admins' certificate list as XLSX (classroom.exports: text never read as a formula), mobile numbers
masked unless the reader administers the holder's union."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.exports import xlsx_bytes
from classroom.extensions import db
from classroom.personal_data import mask_mobile
from classroom.timefmt import local_date
from classroom.unions.scope import readable_mobiles
from courses.certificates.models import PUBLIC_STATUS_LABELS, Certificate, level_label
from courses.certificates.queries import CertificateFilters, listing

COLUMNS = [_l("Certificate number"), _l("Holder"), _l("Mobile"), _l("Course"), _l("Training hours"),
           _l("Skill level"), _l("Issuing union"), _l("Issued on"), _l("Valid until"), _l("Status"),
           _l("Revoked on"), _l("Reason")]


def export_xlsx(admin: User, filters: CertificateFilters, *, now: datetime, tz: ZoneInfo) -> tuple[bytes, int]:
    """The filtered list as an XLSX workbook and its row count."""
    rows = db.session.execute(
        listing(admin, filters, now=now, tz=tz).with_only_columns(Certificate, User.mobile, User.id)
        .join(User, User.id == Certificate.user_id)
    ).all()
    readable = readable_mobiles(admin, {user_id for _, _, user_id in rows})

    def line(certificate: Certificate, mobile: str | None, user_id: int) -> list[object]:
        document = certificate.document
        return [certificate.serial, certificate.snapshot["holder_name"],
                mobile if user_id in readable else mask_mobile(mobile), document["course"], document["hours"],
                level_label(document["level"]), document["issuer"], document["issued_on"], document["expires_on"] or "",
                str(PUBLIC_STATUS_LABELS[certificate.public_status(now)]),
                local_date(certificate.revoked_at, tz).isoformat() if certificate.revoked_at else "",
                certificate.revoked_reason or ""]

    body = xlsx_bytes(str(_l("Certificates")), [str(title) for title in COLUMNS], (line(*row) for row in rows))
    record_event(admin, "certificate.exported", object_type="Certificate", rows=len(rows), course=filters.course,
                 status=filters.status, issued_from=filters.issued_from and filters.issued_from.isoformat(),
                 issued_to=filters.issued_to and filters.issued_to.isoformat())
    return body, len(rows)

"""The 学时证明: a PDF transcript with a QR code to a verification URL showing the same totals.

The URL's token is the printed totals (year, minutes, masked name, union, date of issue), sealed with
AES-SIV under a key derived from SECRET_KEY: opaque (it reads as noise, and carries no user id) and
authenticated (a changed token is refused), and deterministic, so the same transcript prints the same
QR code. Tokens of transcripts printed before (itsdangerous-signed, readable, with a "." inside) still
verify; their user id is never shown."""

from __future__ import annotations

import base64
import binascii
import io
import json
from datetime import date, datetime, time

import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy import func

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.http import public_url
from classroom.pdf import cjk_font, describe
from classroom.personal_data import mask_name
from classroom.timefmt import local_date, platform_zone
from courses.hours.models import HoursEntry
from courses.hours.queries import current_union, entries_of, target_for_user, yearly_totals

SHOWN = ("y", "m", "n", "d", "g")  # year, minutes, masked name, date of issue, union: what the page shows
MAX_TOKEN = 1024


def _legacy_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hours-transcript")


def _cipher() -> AESSIV:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"hours-transcript v2").derive(secret)
    return AESSIV(key)


def sign(payload: dict) -> str:
    """The opaque token of a transcript's printed totals (only the fields the page shows)."""
    shown = {name: payload[name] for name in SHOWN if name in payload}
    sealed = _cipher().encrypt(json.dumps(shown, separators=(",", ":"), ensure_ascii=False).encode(), None)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def read(token: str) -> dict | None:
    """The totals a token carries, or None when it was not issued here or was changed."""
    if not token or len(token) > MAX_TOKEN:
        return None
    if "." in token:  # printed before the tokens were sealed
        return _read_legacy(token)
    try:
        opened = _cipher().decrypt(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), None)
    except (InvalidTag, ValueError, binascii.Error):
        return None
    return json.loads(opened)


def _read_legacy(token: str) -> dict | None:
    try:
        payload = _legacy_serializer().loads(token)
    except BadSignature:
        return None
    return {name: payload[name] for name in SHOWN if name in payload} if isinstance(payload, dict) else None


def verification_url(token: str) -> str:
    """The public page that shows a signed transcript's totals (the PDF's QR code)."""
    return public_url("hours.verify", token=token)


PLATFORM = _l("Worker Classroom · lifelong learning platform of the city federation of trade unions")


def last_changed(user_id: int, year: int, issued: date) -> datetime:
    """When the record a transcript shows last changed, for its PDF dates (not the clock, so downloads
    stay identical): the year's latest ledger entry, else the year's end (the day of issue while it runs)."""
    latest = db.session.scalar(entries_of(user_id, year).with_only_columns(func.max(HoursEntry.created_at))
                               .order_by(None))
    if latest is not None:
        return latest
    return datetime.combine(min(date(year + 1, 1, 1), issued), time(), tzinfo=platform_zone())


def facts(person: User, year: int, *, now: datetime) -> dict:
    """What a person's transcript of a year prints as of ``now`` (issued on the platform's date), its QR
    code's URL included: for the PDF and for its page (the inline view)."""
    minutes = dict(yearly_totals(person.id)).get(year, 0)
    union = current_union(person.id)
    union_name = union.name if union else ""
    issued = local_date(now)
    token = sign({"y": year, "m": minutes, "n": mask_name(person.real_name), "d": issued.isoformat(), "g": union_name})
    entries = list(db.session.scalars(entries_of(person.id, year).limit(40)))
    return {"name": person.real_name, "union": union_name, "year": year, "minutes": minutes,
            "target": target_for_user(person.id), "entries": entries, "issued": issued, "url": verification_url(token)}


def summary(found: dict) -> list[str]:
    """The transcript's lines above its entries, in the current language."""
    return _summary(name=found["name"], union=found["union"], year=found["year"], minutes=found["minutes"],
                    target=found["target"])


def of_person(person: User, year: int, *, now: datetime) -> bytes:
    """The transcript PDF of a person's year as of ``now`` (issued on the platform's date), in their language."""
    found = facts(person, year, now=now)
    return transcript_pdf(**found, locale=person.locale or "zh_CN",
                          as_of=last_changed(person.id, year, found["issued"]))


def transcript_pdf(*, name: str, union: str, year: int, minutes: int, target: int | None, entries: list,
                   issued: date, url: str, locale: str, as_of: datetime) -> bytes:
    """A4 portrait in ``locale`` (names as written); identical input gives identical bytes (ReportLab's
    invariant mode, with the document's dates set to ``as_of``)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    with force_locale(locale):
        describe(pdf, title=f"{_('Training hours transcript')} {year}", author=str(PLATFORM),
                 subject=_("Training hours %(year)d", year=year), as_of=as_of)
        _draw(pdf, cjk_font(), lines=_summary(name=name, union=union, year=year, minutes=minutes, target=target),
              entries=entries, issued=issued, url=url, chinese=locale.startswith("zh"))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _summary(*, name: str, union: str, year: int, minutes: int, target: int | None) -> list[str]:
    unit = current_app.config["MINUTES_PER_CREDIT_HOUR"]
    return [_("Name: %(name)s", name=name), _("Union: %(union)s", union=union or "—"), _("Year: %(year)s", year=year),
            _("Total: %(hours)s training hours (%(minutes)s minutes)", hours=f"{minutes / unit:.1f}", minutes=minutes),
            _("Yearly target: %(hours)s training hours", hours=f"{target / unit:.1f}") if target
            else _("Yearly target: not set")]


def _draw(pdf: canvas.Canvas, font: str, *, lines: list[str], entries: list, issued: date, url: str,
          chinese: bool) -> None:
    width, height = A4
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 30 * mm, _("Training hours transcript"), charSpace=11 if chinese else 0)
    pdf.setFont(font, 12)
    y = height - 50 * mm
    for line in lines:
        pdf.drawString(25 * mm, y, line)
        y -= 8 * mm
    pdf.setFont(font, 9)
    y -= 4 * mm
    for entry in entries[:40]:
        minutes = _("%(minutes)s min", minutes=f"{entry.minutes:+d}")
        pdf.drawString(25 * mm, y, f"{entry.earned_on.isoformat()}  {minutes}  {entry.title[:48]}")
        y -= 5.5 * mm
    qr = io.BytesIO()
    segno.make(url, error="m").save(qr, kind="png", scale=4, border=2)
    qr.seek(0)
    pdf.drawImage(ImageReader(qr), width - 60 * mm, 25 * mm, 40 * mm, 40 * mm)
    pdf.setFont(font, 9)
    pdf.drawString(25 * mm, 30 * mm, _("Issued on %(date)s · scan the QR code on the right to verify",
                                       date=issued.isoformat()))
    pdf.drawString(25 * mm, 24 * mm, str(PLATFORM))

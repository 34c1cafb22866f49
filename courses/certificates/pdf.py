"""The certificate as a PDF: A4 landscape, Chinese in an embedded TrueType font, the serial typed and
a QR code to its verification page. Rendered in invariant mode, so one certificate always gives the
same bytes (no dates or random ids in the file)."""

from __future__ import annotations

import io
from datetime import date

import segno
from flask_babel import force_locale, format_date, gettext
from flask_babel import lazy_gettext as _l
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from classroom.pdf import cjk_font
from courses.certificates.models import Certificate, level_label

RED = HexColor("#b71c1c")
GREY = HexColor("#555555")
PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)

TITLE = _l("Certificate of completion")
LABELS = {
    "holder": _l("Holder"),
    "course": _l("Course"),
    "hours": _l("Training hours"),
    "award": _l("Award"),
    "level": _l("Skill level"),
    "instructors": _l("Instructor"),
    "issued_on": _l("Issued on"),
    "expires_on": _l("Valid until"),
    "serial": _l("Certificate number"),
}
NO_EXPIRY = _l("No expiry")
SCAN_TO_VERIFY = _l("Scan to verify, or enter the number at")
DOCUMENT_LOCALE = "zh_CN"  # the certificate's language does not follow the reader's, so bytes stay the same


def certificate_pdf(certificate: Certificate, *, verify_url: str, base_url: str) -> bytes:
    """The PDF bytes of one certificate."""
    font = cjk_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    with force_locale(DOCUMENT_LOCALE):
        _draw(canvas, certificate, font=font, verify_url=verify_url, base_url=base_url)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw(canvas: Canvas, certificate: Certificate, *, font: str, verify_url: str, base_url: str) -> None:
    document, snapshot = certificate.document, certificate.snapshot
    canvas.setTitle(f"{TITLE} {certificate.serial}")
    canvas.setAuthor(snapshot["issuer"])
    canvas.setSubject(snapshot["course_title"])
    canvas.setCreator("Worker Classroom")
    _frame(canvas)
    _centered(canvas, font, 20, PAGE_HEIGHT - 40 * mm, snapshot["issuer"], colour=RED)
    _centered(canvas, font, 34, PAGE_HEIGHT - 58 * mm, str(TITLE))
    _centered(canvas, font, 13, PAGE_HEIGHT - 72 * mm,
              gettext("%(name)s has completed the course below and is awarded this certificate.",
                      name=snapshot["holder_name"]), colour=GREY)
    rows = [("holder", snapshot["holder_name"]), ("course", snapshot["course_title"])]
    if document.get("kind") == "award":
        rows.append(("award", " · ".join(part for part in (document["award"], document.get("honor_title")) if part)))
    else:
        rows.append(("hours", document["hours"]))
    if snapshot.get("level"):
        rows.append(("level", level_label(snapshot["level"])))
    if snapshot.get("instructors"):
        rows.append(("instructors", "、".join(snapshot["instructors"])))
    rows += [("issued_on", _local_date(document["issued_on"])),
             ("expires_on", _local_date(document["expires_on"]) if document["expires_on"] else str(NO_EXPIRY))]
    y = PAGE_HEIGHT - 88 * mm
    for name, value in rows:
        canvas.setFont(font, 13)
        canvas.setFillColor(GREY)
        canvas.drawRightString(110 * mm, y, f"{LABELS[name]}：")
        canvas.setFont(font, 15)
        canvas.setFillColor(HexColor("#000000"))
        canvas.drawString(113 * mm, y, value)
        y -= 9.5 * mm
    _serial_and_qr(canvas, certificate, font=font, verify_url=verify_url, base_url=base_url)


def _frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(3)
    canvas.rect(10 * mm, 10 * mm, PAGE_WIDTH - 20 * mm, PAGE_HEIGHT - 20 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(14 * mm, 14 * mm, PAGE_WIDTH - 28 * mm, PAGE_HEIGHT - 28 * mm)


def _centered(canvas: Canvas, font: str, size: float, y: float, text: str, colour=None) -> None:
    canvas.setFont(font, size)
    canvas.setFillColor(colour or HexColor("#000000"))
    canvas.drawCentredString(PAGE_WIDTH / 2, y, text)


def _local_date(iso: str) -> str:
    return format_date(date.fromisoformat(iso), "long")


def _serial_and_qr(canvas: Canvas, certificate: Certificate, *, font: str, verify_url: str, base_url: str) -> None:
    size = 38 * mm
    left, bottom = PAGE_WIDTH - 24 * mm - size, 24 * mm
    _qr(canvas, verify_url, left, bottom, size)
    canvas.setFillColor(GREY)
    canvas.setFont(font, 9)
    canvas.drawString(24 * mm, 32 * mm, f"{SCAN_TO_VERIFY} {base_url}/verify")
    canvas.drawString(24 * mm, 27 * mm, f"Ed25519 · {certificate.key_id}")
    canvas.setFillColor(HexColor("#000000"))
    canvas.setFont(font, 13)
    canvas.drawString(24 * mm, 40 * mm, f"{LABELS['serial']}：{certificate.serial}")


def _qr(canvas: Canvas, data: str, left: float, bottom: float, size: float) -> None:
    """The QR code as vector squares (one rectangle per run of dark modules), crisp at any zoom."""
    qr = segno.make_qr(data, error="m")
    matrix = qr.matrix
    module = size / len(matrix)
    canvas.setFillColor(HexColor("#000000"))
    for row_index, row in enumerate(matrix):
        y = bottom + size - (row_index + 1) * module
        start = None
        for column, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                canvas.rect(left + start * module, y, (column - start) * module, module, stroke=0, fill=1)
                start = None

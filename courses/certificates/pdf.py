"""The certificate as a PDF: A4 landscape, Chinese in an embedded TrueType font, the serial typed and
a QR code to its verification page. Each kind has its own wording and layout: a course completion
(结业证书) and a skill level (技能等级证书) list their facts in rows; an award (获奖证书) reads
"在…赛项中荣获…，特发此证" above the organizer and the date. The wording comes from the kind and the
signed record, so a certificate issued long ago renders the same way. Rendered in invariant mode, so
one certificate always gives the same bytes (no dates or random ids in the file)."""

from __future__ import annotations

import io

import segno
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from classroom.pdf import cjk_font, stamp
from courses.certificates.documents import document_date
from courses.certificates.kinds import AwardFacts, award_facts, kind_of, kind_title
from courses.certificates.models import Certificate, CertificateKind, level_label

RED = HexColor("#b71c1c")
GREY = HexColor("#555555")
BLACK = HexColor("#000000")
PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)

LABELS = {
    "holder": _l("Holder"),
    "course": _l("Course"),
    "hours": _l("Training hours"),
    "level": _l("Skill level"),
    "occupation": _l("Occupation"),
    "instructors": _l("Instructor"),
    "issued_on": _l("Issued on"),
    "expires_on": _l("Valid until"),
    "serial": _l("Certificate number"),
}
SENTENCES: dict[str, LazyString] = {
    CertificateKind.COURSE: _l("%(name)s has completed the course below and is awarded this certificate."),
    CertificateKind.SKILL: _l("%(name)s has reached the skill level below and is awarded this certificate."),
}
SALUTATION = _l("%(name)s:")
TEAM_SALUTATION = _l("%(name)s (%(team)s):")
CITATIONS = {  # (an award or a rank, an honour title) → the sentence of an award certificate
    (True, True): _l("At %(competition)s, in the event “%(event)s”, won %(award)s and the title “%(title)s”. "
                     "This certificate is awarded in recognition."),
    (True, False): _l("At %(competition)s, in the event “%(event)s”, won %(award)s. "
                      "This certificate is awarded in recognition."),
    (False, True): _l("At %(competition)s, in the event “%(event)s”, earned the title “%(title)s”. "
                      "This certificate is awarded in recognition."),
}
OPENERS = "“‘（《「『【〔"
CLOSERS = "”’），。、：；！？》」』】〕"
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
    kind = kind_of(certificate)
    title = kind_title(kind)
    canvas.setTitle(f"{title} {certificate.serial}")
    canvas.setAuthor(certificate.document["issuer"])
    stamp(canvas, certificate.issued_at)  # Creator, and the dates of the record (invariant mode: 2000-01-01)
    _frame(canvas)
    _centered(canvas, font, 20, PAGE_HEIGHT - 40 * mm, certificate.document["issuer"], colour=RED)
    _centered(canvas, font, 34, PAGE_HEIGHT - 58 * mm, title)
    if kind == CertificateKind.AWARD:
        _draw_award(canvas, certificate, font=font)
    else:
        _draw_rows(canvas, certificate, kind, font=font)
    _serial_and_qr(canvas, certificate, font=font, verify_url=verify_url, base_url=base_url)


def _draw_rows(canvas: Canvas, certificate: Certificate, kind: str, *, font: str) -> None:
    """A course completion or a skill level: one sentence, then the facts in labelled rows."""
    document, snapshot = certificate.document, certificate.snapshot
    canvas.setSubject(snapshot.get("course_title") or level_label(document.get("level")))
    _centered(canvas, font, 13, PAGE_HEIGHT - 72 * mm, str(SENTENCES[kind]) % {"name": snapshot["holder_name"]},
              colour=GREY)
    y = PAGE_HEIGHT - 88 * mm
    for name, value in rows(document, snapshot, kind):
        canvas.setFont(font, 13)
        canvas.setFillColor(GREY)
        canvas.drawRightString(110 * mm, y, f"{LABELS[name]}：")
        canvas.setFont(font, 15)
        canvas.setFillColor(BLACK)
        canvas.drawString(113 * mm, y, value)
        y -= 9.5 * mm


def rows(document: dict, snapshot: dict, kind: str) -> list[tuple[str, str]]:
    rows = [("holder", snapshot["holder_name"])]
    if kind == CertificateKind.COURSE:
        rows += [("course", snapshot["course_title"]), ("hours", document["hours"])]
    elif document.get("occupation"):
        rows.append(("occupation", document["occupation"]))
    if snapshot.get("level") or document.get("level"):
        rows.append(("level", level_label(snapshot.get("level") or document.get("level"))))
    if snapshot.get("instructors"):
        rows.append(("instructors", "、".join(snapshot["instructors"])))
    return rows + [("issued_on", document_date(document["issued_on"], "long")),
                   ("expires_on", document_date(document["expires_on"], "long") or str(NO_EXPIRY))]


def _draw_award(canvas: Canvas, certificate: Certificate, *, font: str) -> None:
    """获奖证书: "张三明：在…“…”赛项中荣获一等奖，并被授予“…”称号，特发此证。", signed by the organizer, dated."""
    facts = award_facts(certificate)
    canvas.setSubject(" · ".join(part for part in (facts.competition, facts.event) if part))
    name = certificate.snapshot["holder_name"]
    salutation = TEAM_SALUTATION if facts.team else SALUTATION
    left, width = 40 * mm, PAGE_WIDTH - 80 * mm
    canvas.setFont(font, 18)
    canvas.setFillColor(BLACK)
    canvas.drawString(left, PAGE_HEIGHT - 80 * mm, str(salutation) % {"name": name, "team": facts.team})
    _paragraph(canvas, citation(facts), font, left=left, top=PAGE_HEIGHT - 86 * mm, width=width,
               height=PAGE_HEIGHT - 86 * mm - 92 * mm)
    right = PAGE_WIDTH - 30 * mm
    canvas.setFont(font, 16)
    canvas.drawRightString(right, 82 * mm, facts.organizer or certificate.document["issuer"])
    canvas.drawRightString(right, 72 * mm, document_date(certificate.document["issued_on"], "long"))


def citation(facts: AwardFacts) -> str:
    """The award's sentence in the current language, from the kind and the facts as issued."""
    template = CITATIONS.get((bool(facts.won), bool(facts.honor_title)), CITATIONS[(True, False)])
    return str(template) % {"competition": facts.competition or "", "event": facts.event or "", "award": facts.won,
                            "title": facts.honor_title or ""}


def _paragraph(canvas: Canvas, text: str, font: str, *, left: float, top: float, width: float,
               height: float) -> None:
    """Text wrapped to the box, its first line indented by two characters, smaller until it fits."""
    for size in (17, 15, 13, 11, 9):
        lines = wrap_cjk(text, font, size, width, indent=2 * size)
        if len(lines) * size * 1.7 <= height:
            break
    canvas.setFont(font, size)
    canvas.setFillColor(BLACK)
    for number, line in enumerate(lines):
        canvas.drawString(left + (2 * size if number == 0 else 0), top - size - number * size * 1.7, line)


def wrap_cjk(text: str, font: str, size: float, width: float, *, indent: float = 0) -> list[str]:
    """Lines of Chinese text no wider than ``width``, broken between any characters except that a line
    never ends on an opening quote or bracket nor starts with closing punctuation (which hangs instead)."""
    lines, line, room = [], "", width - indent
    for char in text:
        if not line or char in CLOSERS or stringWidth(line + char, font, size) <= room:
            line += char
            continue
        carried = ""
        while line and line[-1] in OPENERS:
            line, carried = line[:-1], line[-1] + carried
        if line:
            lines.append(line)
            room = width
        line = carried + char
    return [*lines, line] if line else lines


def _frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(3)
    canvas.rect(10 * mm, 10 * mm, PAGE_WIDTH - 20 * mm, PAGE_HEIGHT - 20 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(14 * mm, 14 * mm, PAGE_WIDTH - 28 * mm, PAGE_HEIGHT - 28 * mm)


def _centered(canvas: Canvas, font: str, size: float, y: float, text: str, colour=None) -> None:
    canvas.setFont(font, size)
    canvas.setFillColor(colour or BLACK)
    canvas.drawCentredString(PAGE_WIDTH / 2, y, text)


def _serial_and_qr(canvas: Canvas, certificate: Certificate, *, font: str, verify_url: str, base_url: str) -> None:
    size = 38 * mm
    left, bottom = PAGE_WIDTH - 24 * mm - size, 24 * mm
    _qr(canvas, verify_url, left, bottom, size)
    canvas.setFillColor(GREY)
    canvas.setFont(font, 9)
    canvas.drawString(24 * mm, 32 * mm, f"{SCAN_TO_VERIFY} {base_url}/verify")
    canvas.drawString(24 * mm, 27 * mm, f"Ed25519 · {certificate.key_id}")
    canvas.setFillColor(BLACK)
    canvas.setFont(font, 13)
    canvas.drawString(24 * mm, 40 * mm, f"{LABELS['serial']}：{certificate.serial}")


def _qr(canvas: Canvas, data: str, left: float, bottom: float, size: float) -> None:
    """The QR code as vector squares (one rectangle per run of dark modules), crisp at any zoom."""
    qr = segno.make_qr(data, error="m")
    matrix = qr.matrix
    module = size / len(matrix)
    canvas.setFillColor(BLACK)
    for row_index, row in enumerate(matrix):
        y = bottom + size - (row_index + 1) * module
        start = None
        for column, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                canvas.rect(left + start * module, y, (column - start) * module, module, stroke=0, fill=1)
                start = None

"""The 学时证明: a PDF transcript with a QR code to a signed verification URL showing the same totals."""

from __future__ import annotations

import io
from datetime import date

import segno
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from classroom.http import public_url
from classroom.pdf import cjk_font


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hours-transcript")


def sign(payload: dict) -> str:
    return _serializer().dumps(payload)


def read(token: str) -> dict | None:
    try:
        return _serializer().loads(token)
    except BadSignature:
        return None


def verification_url(token: str) -> str:
    """The public page that shows a signed transcript's totals (the PDF's QR code)."""
    return public_url("hours.verify", token=token)


def transcript_pdf(*, name: str, union: str, year: int, minutes: int, target: int | None, entries: list,
                   issued: date, url: str) -> bytes:
    """A4 portrait; identical input gives identical bytes (ReportLab's invariant mode)."""
    unit = current_app.config["MINUTES_PER_CREDIT_HOUR"]
    font = cjk_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(f"学时证明 {year}")
    width, height = A4
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 30 * mm, "学 时 证 明")
    pdf.setFont(font, 12)
    lines = [f"姓名：{name}", f"所在工会：{union or '—'}", f"年度：{year}",
             f"累计学时：{minutes / unit:.1f} 学时（{minutes} 分钟）",
             f"年度目标：{target / unit:.1f} 学时" if target else "年度目标：未设定"]
    y = height - 50 * mm
    for line in lines:
        pdf.drawString(25 * mm, y, line)
        y -= 8 * mm
    pdf.setFont(font, 9)
    y -= 4 * mm
    for entry in entries[:40]:
        pdf.drawString(25 * mm, y, f"{entry.earned_on.isoformat()}  {entry.minutes:+d} 分钟  {entry.title[:48]}")
        y -= 5.5 * mm
    qr = io.BytesIO()
    segno.make(url, error="m").save(qr, kind="png", scale=4, border=2)
    qr.seek(0)
    pdf.drawImage(ImageReader(qr), width - 60 * mm, 25 * mm, 40 * mm, 40 * mm)
    pdf.setFont(font, 9)
    pdf.drawString(25 * mm, 30 * mm, f"出具日期：{issued.isoformat()}  扫描右侧二维码核验")
    pdf.drawString(25 * mm, 24 * mm, "职工学堂 · 市总工会职工终身学习平台")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

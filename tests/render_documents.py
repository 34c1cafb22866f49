"""Render a certificate and an hours transcript with the app's own code in a fresh interpreter,
recording every file the process opens and every folder it lists (a ``sys.addaudithook`` set
before anything of the app or ReportLab is imported).

Usage: python tests/render_documents.py OUT_DIR  — writes certificate.pdf, transcript.pdf and
report.json into OUT_DIR: {"opened": [[audit event, path], ...], "font_file": the font file embedded,
"font_dirs": {OS font folder: its listing}}. Run by tests/test_documents_font.py, also inside a
mount namespace where the OS font folders are empty.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

OPENED: list[tuple[str, str]] = []  # (audit event, absolute path)
WATCHED = ("open", "os.listdir", "os.scandir")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")

HOLDER, SERIAL, TOKEN = "张小明", "ZGXT-2024-000123", "audit-token"


def _record(event: str, args: tuple) -> None:
    if event in WATCHED and args and isinstance(args[0], str | bytes | os.PathLike):
        OPENED.append((event, os.path.abspath(os.fsdecode(args[0]))))


def render(out: Path) -> str:
    """Both documents into ``out``; returns the file of the font they embed."""
    from datetime import UTC, date, datetime

    from reportlab.pdfbase import pdfmetrics

    from classroom import create_app
    from classroom.pdf import cjk_font
    from courses.certificates.models import Certificate
    from courses.certificates.pdf import certificate_pdf
    from courses.hours.transcript import transcript_pdf

    app = create_app("testing", DATABASE_URL="sqlite://")
    issued = datetime(2024, 6, 1, tzinfo=UTC)
    certificate = Certificate(serial=SERIAL, token=TOKEN, key_id="k-2024", issued_at=issued, snapshot={
        "issuer": "市总工会", "course_title": "低压电工作业安全规程", "holder_name": HOLDER, "instructors": ["李秀珍"]},
        document={"kind": "course", "hours": "16", "issued_on": "2024-06-01", "expires_on": None,
                  "issuer": "市总工会"})
    with app.app_context():
        (out / "certificate.pdf").write_bytes(certificate_pdf(
            certificate, verify_url=f"http://127.0.0.1:5000/verify/{TOKEN}", base_url="http://127.0.0.1:5000"))
        (out / "transcript.pdf").write_bytes(transcript_pdf(
            name=HOLDER, union="市总工会", year=2024, minutes=90, target=None, entries=[], issued=date(2024, 6, 1),
            url="http://127.0.0.1:5000/hours/verify/x", locale="zh_CN", as_of=issued))
        return pdfmetrics.getFont(cjk_font()).face.filename


def _listing(folder: str) -> list[str] | None:
    """What the folder holds (None when there is no such folder)."""
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return None


def main(out: str) -> None:
    """Record, render, report."""
    sys.addaudithook(_record)
    font_file = render(Path(out))
    opened = list(OPENED)  # taken before the listings below, which read the font folders on purpose
    font_dirs = {folder: _listing(os.path.expanduser(folder)) for folder in FONT_DIRS}
    report = {"opened": opened, "font_file": font_file, "font_dirs": font_dirs}
    (Path(out) / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])

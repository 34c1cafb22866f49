"""PDF building blocks: the CJK font (an embedded TrueType font, or ReportLab's CID fallback)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)
EMBEDDED = "ClassroomCJK"
FALLBACK = "STSong-Light"


class FontMissing(RuntimeError):
    """The configured CJK font file is missing where it is required (CI)."""


def cjk_font() -> str:
    """The registered font name for Chinese text: the TrueType file of CJK_FONT_PATH embedded
    in the PDF, or, when the file is missing (and not required), the built-in STSong-Light CID
    font, which viewers render but which is not embedded."""
    if EMBEDDED in pdfmetrics.getRegisteredFontNames():
        return EMBEDDED
    path = Path(current_app.config["CJK_FONT_PATH"] or "")
    if path.is_file():
        pdfmetrics.registerFont(TTFont(EMBEDDED, str(path), subfontIndex=0))
        return EMBEDDED
    if current_app.config["REQUIRE_CJK_FONT"]:
        raise FontMissing(f"CJK font not found at {path} (CLASSROOM_CJK_FONT_PATH)")
    log.warning("CJK font %s not found; using %s (not embedded)", path, FALLBACK)
    if FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK

"""PDF building blocks: the CJK font every document embeds (a TrueType file, subset by ReportLab).

The font ships with the code (``classroom/fonts``), so no document depends on the fonts the
operating system happens to have; ``CJK_FONT_PATH`` may name another TrueType file instead.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

BUNDLED_FONT = Path(__file__).resolve().parent / "fonts" / "WenQuanYiMicroHei-subset.ttf"
CREATOR = "职工学堂 Worker Classroom"
_registering = threading.Lock()
_by_face: dict[bytes, TTFont] = {}  # our font registered under each PostScript name


class FontNotFound(RuntimeError):
    """CJK_FONT_PATH names a file that is not there."""


def cjk_font() -> str:
    """The registered ReportLab name of the CJK font: CJK_FONT_PATH's file when set, else the bundled one."""
    configured = current_app.config.get("CJK_FONT_PATH")
    return register_font(Path(configured) if configured else BUNDLED_FONT)


def register_font(path: Path) -> str:
    """Register the TrueType font at ``path`` (face 0 of a collection) once and return its name.

    ReportLab's registry is global to the process: the name is derived from the path, so another
    path is another font. ReportLab also keeps one font per PostScript name (a second file of the
    same name would silently reuse the first), so a font of the same name from another path is
    unregistered first."""
    path = path.resolve()
    name = "CJK-" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    with _registering:
        if name not in pdfmetrics.getRegisteredFontNames():
            if not path.is_file():
                raise FontNotFound(f"no CJK font file at {path} (CLASSROOM_CJK_FONT_PATH)")
            font = TTFont(name, str(path), subfontIndex=0)
            previous = _by_face.pop(font.face.name, None)
            if previous is not None:
                previous.unregister()
            pdfmetrics.registerFont(font)
            _by_face[font.face.name] = font
    return name


def describe(canvas: Canvas, *, title: str, author: str, subject: str, as_of: datetime) -> None:
    """The document's metadata. Its CreationDate and ModDate are ``as_of``, a time taken from the record
    the document shows: ReportLab's invariant mode (same input, same bytes) would otherwise write
    2000-01-01 and "anonymous"."""
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setSubject(subject)
    stamp(canvas, as_of)


def stamp(canvas: Canvas, as_of: datetime) -> None:
    """Our Creator, and ``as_of`` (a time from the document's record, never the clock) as its dates."""
    canvas.setCreator(CREATOR)
    dated = as_of.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    canvas.setDateFormatter(lambda *_parts: dated)

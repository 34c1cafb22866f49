"""Reading the PDFs the app writes with Python libraries only (no poppler): text, embedded fonts, QR codes."""

from __future__ import annotations

import io

BUNDLED_FONT_NAME = "WenQuanYiMicroHei"  # the PostScript name of classroom/fonts/WenQuanYiMicroHei-subset.ttf


def pdf_text(body: bytes) -> str:
    """The text of every page, as pdfminer.six reads it (independent of pypdf and of ReportLab)."""
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(body))


def embedded_truetype_fonts(body: bytes) -> set[str]:
    """The base names (subset prefix dropped) of the fonts whose program is embedded as TrueType
    (``/FontFile2`` in the font descriptor), on any page."""
    from pypdf import PdfReader

    names = set()
    for page in PdfReader(io.BytesIO(body)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(font["/BaseFont"]).lstrip("/").split("+")[-1])
    return names


def qr_codes(body: bytes, *, scale: float = 2.0) -> list[str]:
    """The QR codes on the first page: rendered with pypdfium2, read with zxing-cpp."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(body)
    try:
        image = document[0].render(scale=scale).to_pil()
    finally:
        document.close()
    return [code.text for code in zxingcpp.read_barcodes(image)]

"""Makes the favicon and the home-screen icons from static/img/logo.svg (run after the logo changes):

    .venv/bin/python scripts/make_icons.py

static/img/favicon.svg (the tab's icon), favicon.ico (16, 32, 48 px, for /favicon.ico), apple-touch-icon.png
(180 px) and icon-192.png / icon-512.png (the web app manifest's; full-bleed, the logo inside the middle 80 %,
so a launcher may cut them to any shape). The logo sits on the union red; resvg renders the SVG.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import resvg_py
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "static" / "img"
RED = "#b71c1c"


def logo_body() -> str:
    """The drawing inside logo.svg's <svg> element (its viewBox is 0 0 32 32)."""
    text = (IMAGES / "logo.svg").read_text(encoding="utf-8")
    return re.search(r"<svg[^>]*>(.*)</svg>", text, re.S).group(1)


def icon_svg(*, logo_share: float, corner: float) -> str:
    """The logo, ``logo_share`` of the side wide, centred on a red square with rounded ``corner`` (of 32)."""
    offset = 16 * (1 - logo_share)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            f'<rect width="32" height="32" rx="{corner}" fill="{RED}"/>'
            f'<g transform="translate({offset:g} {offset:g}) scale({logo_share:g})">{logo_body()}</g></svg>\n')


def png(svg: str, size: int) -> bytes:
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size))


def main() -> None:
    favicon = icon_svg(logo_share=0.94, corner=7)
    (IMAGES / "favicon.svg").write_text(favicon, encoding="utf-8")
    square = icon_svg(logo_share=0.72, corner=0)  # full-bleed: iOS and Android launchers shape it
    (IMAGES / "apple-touch-icon.png").write_bytes(png(square, 180))
    for size in (192, 512):
        (IMAGES / f"icon-{size}.png").write_bytes(png(square, size))
    largest = Image.open(io.BytesIO(png(favicon, 48)))
    largest.save(IMAGES / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()

"""Documents shown on the page, for browsers that cannot download them: WeChat's in-app browser (told by
its user agent, ``MicroMessenger``) usually blocks PDFs sent as attachments, so pages with downloads tell its
users the "open in browser" gesture and link an inline view of each document, whose QR code (drawn here as
inline SVG, the same URL as the PDF's) can be shown and scanned from the phone's screen."""

from __future__ import annotations

import segno
from flask import Flask, has_request_context, request
from markupsafe import Markup

WECHAT = "MicroMessenger"


def in_wechat() -> bool:
    """Whether this request comes from WeChat's in-app browser."""
    return has_request_context() and WECHAT in request.headers.get("User-Agent", "")


def qr_svg(data: str, *, label: str) -> Markup:
    """A QR code of ``data`` as an inline SVG image named ``label`` (dark modules on white, with its quiet zone)."""
    svg = segno.make_qr(data, error="m").svg_inline(scale=6, border=4, light="#fff", title=label,
                                                    svgclass="qr-code d-block mx-auto", lineclass=None,
                                                    omitsize=True)
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno's own markup, data escaped


def init_app(app: Flask) -> None:
    """The templates' ``in_wechat()`` and ``qr_svg()``."""
    app.jinja_env.globals.update(in_wechat=in_wechat, qr_svg=qr_svg)

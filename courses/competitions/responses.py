"""The private answers of the admin pages (sheets with people's data, the venue list): never cached."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, make_response

from classroom.exports import xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def private(response: Response) -> Response:
    """The response, kept out of shared and browser caches."""
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def xlsx_download(filename: str, title: str, header: Sequence[str], rows: Sequence[Sequence]) -> Response:
    """An XLSX sheet to download as ``filename``."""
    response = make_response(xlsx_bytes(title, header, rows))
    response.mimetype = XLSX
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return private(response)

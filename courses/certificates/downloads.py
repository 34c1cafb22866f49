"""The response of every certificate download: an attachment, private, never stored by a cache."""

from __future__ import annotations

from flask import Response, make_response


def attachment(body: bytes, mimetype: str, name: str) -> Response:
    """``body`` as the file ``name`` to save, kept by no cache (certificates name people)."""
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response

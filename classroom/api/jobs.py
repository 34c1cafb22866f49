"""The API's scheduled clean-up: Idempotency-Keys past their window, tokens long expired."""

from __future__ import annotations

from datetime import datetime

from classroom.api import idempotency, tokens
from classroom.extensions import db


def sweep(*, now: datetime) -> dict[str, int]:
    """Forget what no request can use any more; one commit."""
    counts = {"idempotency_keys": idempotency.sweep(now=now), "tokens": tokens.purge_expired(now=now)}
    db.session.commit()
    return counts

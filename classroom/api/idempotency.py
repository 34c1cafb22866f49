"""Idempotency-Key records: a POST that creates, repeated with the same key within the retention window
(API_IDEMPOTENCY_HOURS), gets the first answer again instead of creating twice.

The first request inserts an in-progress row (a unique constraint on caller and key lets only one in)
and commits it; the repeats wait for the answer it stores with its own change (``classroom.api.door``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Response, current_app, request
from sqlalchemy import CursorResult, delete, select, update

from classroom.api.models import IdempotencyRecord
from classroom.database import begin_write
from classroom.extensions import db

REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


@dataclass(frozen=True)
class Answer:
    """What a key's record holds: the request it was first used with, and its answer once there is one."""

    fingerprint: str
    status_code: int | None
    body: str | None
    headers: dict[str, Any] = field(default_factory=dict)


def fingerprint() -> str:
    """The request a key is used with: method, path with query, and body."""
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=current_app.config["API_IDEMPOTENCY_HOURS"])


def claim(owner: str, key: str, print_: str, *, now: datetime) -> int:
    """Claim ``key`` for this request: its in-progress row, flushed (an IntegrityError when another request
    holds it). A row older than the retention window is replaced."""
    begin_write(db.session)
    db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.owner == owner, IdempotencyRecord.key == key, IdempotencyRecord.created_at < _cutoff(now)))
    record = IdempotencyRecord(owner=owner, key=key, fingerprint=print_, created_at=now)
    db.session.add(record)
    db.session.flush()
    return record.id


def answer_of(owner: str, key: str, *, now: datetime) -> Answer | None:
    """The record of ``key`` within the window, read fresh, as plain values."""
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key,
                                        IdempotencyRecord.created_at >= _cutoff(now))
        .execution_options(populate_existing=True))
    if record is None:
        return None
    return Answer(record.fingerprint, record.status_code, record.body, dict(record.headers or {}))


def store_answer(record_id: int, response: Response) -> None:
    """Keep the answer of the request that holds the record (in that request's transaction)."""
    headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
    db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
        status_code=response.status_code, body=response.get_data(as_text=True), headers=headers))


def release(record_id: int) -> None:
    """Give the key up (its request failed on the server's side): a retry may run it again."""
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


def replay(answer: Answer) -> Response:
    """The stored answer, again."""
    response = current_app.response_class(answer.body or "", status=answer.status_code or 200)
    response.headers.update(answer.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def sweep(*, now: datetime) -> int:
    """Forget the records past the retention window."""
    statement = delete(IdempotencyRecord).where(IdempotencyRecord.created_at < _cutoff(now))
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount

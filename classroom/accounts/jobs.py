"""The people's background work, owning its transactions: the password-reset sender.

A request for a reset code or link hands the identifier to this sender and answers at once; the
look-up, the new code (committed before it leaves) and the delivery happen in the sender's threads
(classroom/accounts/recovery.py says why).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from datetime import datetime
from typing import Any, cast

from flask import Flask, current_app

from classroom.accounts import recovery
from classroom.extensions import db

logger = logging.getLogger("classroom.recovery")
SENDER_THREADS = 4  # a slow gateway holds one thread per message; the rate limits bound the queue
_sender_lock = threading.Lock()
_sender: tuple[int, ThreadPoolExecutor] | None = None
_pending: set[Future] = set()


def _executor() -> ThreadPoolExecutor:
    """This process's sender threads (made on first use, again after a fork)."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            _sender = (os.getpid(), ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="password-reset"))
        return _sender[1]


def request_reset_later(identifier: str, *, now: datetime, minutes: int) -> None:
    """Queue recovery.request_reset() and the delivery of its message for the background sender. The
    caller's work is the same whether or not the identifier belongs to an account."""
    app = cast(Any, current_app)._get_current_object()  # the app itself, not the proxy: for the thread
    future = _executor().submit(_request_and_deliver, app, identifier, now, minutes)
    with _sender_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future) -> None:
    with _sender_lock:
        _pending.discard(future)


def _request_and_deliver(app: Flask, identifier: str, now: datetime, minutes: int) -> None:
    with app.app_context():
        try:
            delivery = recovery.request_reset(identifier, now=now, minutes=minutes)
            db.session.commit()  # the code is stored before it leaves
        except Exception:
            db.session.rollback()
            logger.exception("A password reset request could not be stored")
            return
        if delivery is not None:
            delivery.send()  # a gateway failure is logged inside, never raised


def wait_for_deliveries(timeout: float = 30) -> bool:
    """Block until every queued request has been handled (tests; a graceful shutdown)."""
    with _sender_lock:
        pending = set(_pending)
    _done, not_done = wait_all(pending, timeout=timeout)
    return not not_done

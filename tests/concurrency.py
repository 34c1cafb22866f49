"""Fire many requests at once: threads behind a barrier, each with its own test client."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import has_app_context

from classroom.extensions import db


def run_at_once(count: int, action: Callable[[int], object], timeout: float = 60) -> list:
    """Run ``action(i)`` for i in range(count) in threads released together; returns the results
    (or the exceptions raised) in order. ``action`` must not touch the test's own ORM objects:
    compute URLs and ids before."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = action(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if has_app_context():
        db.session.commit()  # end the test body's snapshot, so it reads what the threads wrote
    return results

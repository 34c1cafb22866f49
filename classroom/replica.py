"""The read replica (CLASSROOM_REPLICA_DATABASE_URL): filled in by the replica routing step."""

from __future__ import annotations

from typing import Any


def status() -> Any:
    """None: no replica is configured."""
    return None

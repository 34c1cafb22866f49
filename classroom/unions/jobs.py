"""Scheduled work of the union tree: folding the member counters' deltas."""

from __future__ import annotations

from classroom.scheduler import register_job
from classroom.unions.counters import fold

register_job("unions.fold_member_counts", fold, "MEMBER_COUNT_FOLD_SECONDS")

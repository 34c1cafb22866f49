"""Time in one place: the platform's timezone, a person's zone, local dates and times.

Times are stored in UTC and shown in the reader's timezone (Asia/Shanghai by default). Services take
``now`` from their caller (a view passes ``utcnow()``, a job its own), so tests control time; these
helpers only convert.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_ZONE = "Asia/Shanghai"


def zone(name: str | None) -> ZoneInfo:
    """A person's timezone by its IANA name; the platform's default when they have none."""
    return ZoneInfo(name or DEFAULT_ZONE)


def platform_zone() -> ZoneInfo:
    """The platform's own timezone (``DEFAULT_TIMEZONE``): the day a credit or a deadline falls on."""
    return zone(current_app.config["DEFAULT_TIMEZONE"])


def local_date(moment: datetime, tz: ZoneInfo | None = None) -> date:
    """The calendar day of ``moment`` in ``tz`` (default: the platform's)."""
    return moment.astimezone(tz or platform_zone()).date()


def day_start(day: date, tz: ZoneInfo | None = None) -> datetime:
    """The instant ``day`` begins in ``tz`` (default: the platform's), in UTC: what happened before it
    happened by the end of the day before."""
    return datetime(day.year, day.month, day.day, tzinfo=tz or platform_zone()).astimezone(UTC)


def local_naive(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """``moment`` as a wall-clock time in ``tz`` without its zone (what a datetime-local field shows)."""
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def from_local_naive(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A wall-clock time typed in ``tz`` (a datetime-local field) as the aware time it names."""
    return value.replace(tzinfo=tz) if value else None


def local_minute(moment: datetime, tz: ZoneInfo | None = None) -> str:
    """"2026-03-12 13:00": ``moment`` to the minute in ``tz`` (default: the platform's), for messages."""
    return moment.astimezone(tz or platform_zone()).strftime("%Y-%m-%d %H:%M")

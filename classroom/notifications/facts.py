"""The facts a notification keeps for its email and text message (the course, the class's time and
venue …), and how they read in the recipient's language and timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_timezone_location
from flask_babel import force_locale
from sqlalchemy import JSON, ColumnElement, String, cast, func, literal

from classroom.extensions import db
from classroom.timefmt import zone

UNIVERSAL = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT"}


def stored(user: Any, values: dict | None) -> dict | None:
    """``values`` ready for the JSON column: lazy texts in the recipient's language, times as ISO text."""
    if not values:
        return None
    with force_locale(getattr(user, "locale", None) or "zh_CN"):
        return {str(key): _plain(value) for key, value in values.items()}


def _plain(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)  # a lazily translated text, an enum …


def sql_facts(**columns: Any) -> ColumnElement[Any]:
    """SQL: a JSON object of these columns, for the scans that make notifications in one INSERT … SELECT
    (json_object on SQLite; jsonb_build_object on PostgreSQL, which a SELECT DISTINCT can compare;
    times as the database writes them)."""
    build = func.jsonb_build_object if db.session.get_bind().dialect.name == "postgresql" else func.json_object
    pairs = []
    for key, column in columns.items():
        pairs += [cast(literal(key), String), column]
    return build(*pairs, type_=JSON)


def moment(value: object) -> datetime | None:
    """A stored time (ISO text, SQLite's "2026-03-12 11:00:00.000000" or a datetime) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@lru_cache(maxsize=64)
def babel_locale(name: str | None) -> Locale:
    """Babel's Locale of a locale name (zh_CN, en …), parsed once."""
    return Locale.parse(name)


class Reader:
    """Formats stored facts for one person: their language (``locale``) and timezone."""

    def __init__(self, locale: str | None, timezone: str | None) -> None:
        self.locale = "zh_CN" if (locale or "zh_CN").startswith("zh") else locale
        self.babel = babel_locale(self.locale)  # parsed once, not by every formatting call
        self.zone = zone(timezone)

    def local(self, value: object) -> datetime | None:
        """A stored time in the person's timezone."""
        found = moment(value)
        return found.astimezone(self.zone) if found else None

    def day(self, value: object) -> str:
        """2026年3月12日星期四 / Thursday, March 12, 2026."""
        found = self.local(value)
        return format_date(found.date(), "full", locale=self.babel) if found else ""

    def clock(self, value: object) -> str:
        """19:00 / 7:00 PM, in the person's timezone."""
        found = self.local(value)
        return format_time(found, "short", tzinfo=self.zone, locale=self.babel) if found else ""

    def zone_name(self) -> str:
        """中国（上海）时间 / Germany (Berlin) Time; UTC for the zones of no place (Babel: "Unknown Region")."""
        if self.zone.key in UNIVERSAL:
            return "UTC"
        return get_timezone_location(self.zone, locale=self.babel)

    def span(self, starts: object, ends: object = None) -> str:
        """19:00–21:00 (中国（上海）时间); a class ending on another day shows that day too."""
        first, last = self.local(starts), self.local(ends)
        if first is None:
            return ""
        text = self.clock(first)
        if last is not None:
            text += "–" + (self.clock(last) if last.date() == first.date() else f"{self.day(last)} {self.clock(last)}")
        return f"{text} ({self.zone_name()})"

    def when(self, value: object) -> str:
        """The date, the time and the zone: 2026年3月12日星期四 19:00 (中国（上海）时间)."""
        found = self.local(value)
        return f"{self.day(found)} {self.clock(found)} ({self.zone_name()})" if found else ""

    def short(self, starts: object, ends: object = None) -> str:
        """For a text message: 3月12日周四 19:00–21:00 / Thu, Mar 12 7:00 PM–9:00 PM."""
        first, last = self.local(starts), self.local(ends)
        if first is None:
            return ""
        text = f"{format_skeleton('MMMEd', first, locale=self.babel)} {self.clock(first)}"
        text += f"–{self.clock(last)}" if last is not None and last.date() == first.date() else ""
        return text.replace("\u202f", " ")  # CLDR's narrow space before PM: not every phone shows it

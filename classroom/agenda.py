"""A worker's schedule (/me/schedule): what is coming up for them, week by week. The features bring the
items (classes, enrollment and sign-up deadlines, the last day of a course, competition rounds) through
the registry's schedule sources; this module asks them for one bounded window and sorts the answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from classroom.registry import registry

WEEKS_SHOWN = 4  # one page of the schedule
WEEKS_AHEAD = 53  # how far ahead the pages go
SOURCE_LIMIT = 100  # items one source gives for one page, at most


@dataclass(frozen=True)
class Item:
    """One entry of the schedule. ``all_day`` items fall on the day of ``at`` (a course's last day)."""

    at: datetime
    kind: str  # class / enrollment / course_end / exam / stage / signup: the page's data attribute
    label: str  # the kind, in words and in the reader's language ("Class", "Enrollment closes")
    title: str
    link: str
    detail: str = ""
    ends_at: datetime | None = None
    all_day: bool = False


@dataclass(frozen=True)
class Page:
    """Weeks of the schedule from ``first`` (a Monday): [(Monday, items)], and whether a source had more."""

    first: date
    weeks: list[tuple[date, list[Item]]]
    truncated: bool


def monday_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def first_week(asked: str | None, now: datetime, tz: ZoneInfo) -> date:
    """The Monday the page starts on: the one asked for (?from=2026-12-07) when it is this week or a later one
    within WEEKS_AHEAD, else this week's."""
    this_week = monday_of(now.astimezone(tz).date())
    try:
        wanted = monday_of(date.fromisoformat(asked or ""))
    except ValueError:
        return this_week
    return wanted if this_week <= wanted <= this_week + timedelta(weeks=WEEKS_AHEAD) else this_week


def page_of(user, first: date, *, now: datetime, tz: ZoneInfo) -> Page:
    """The schedule's page from the Monday ``first``: WEEKS_SHOWN weeks, not what has already passed."""
    start = max(now, datetime.combine(first, time(), tzinfo=tz))
    end = datetime.combine(first + timedelta(weeks=WEEKS_SHOWN), time(), tzinfo=tz)
    items: list[Item] = []
    truncated = False
    for source in registry().schedule_sources:
        found = source(user, start, end, SOURCE_LIMIT)
        truncated = truncated or len(found) >= SOURCE_LIMIT
        items.extend(found)
    items.sort(key=lambda item: (item.at, item.title))
    weeks: list[tuple[date, list[Item]]] = [(first + timedelta(weeks=n), []) for n in range(WEEKS_SHOWN)]
    for item in items:
        index = (item.at.astimezone(tz).date() - first).days // 7
        if 0 <= index < WEEKS_SHOWN:
            weeks[index][1].append(item)
    return Page(first, weeks, truncated)

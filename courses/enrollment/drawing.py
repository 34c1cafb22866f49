"""The course page's drawing of one version of a course: what every reader of it sees (title, facts, rendered
description, outline, class sessions, announcements), drawn once per process, language and timezone and kept.

Kept under the course's content version, which rises in the same transaction as any change to what is drawn
here (courses/catalog/versions.py), so an edit shows at once; bounded (the least recently used drawing goes
first) and never older than KEEP_SECONDS. What each reader sees of their own (their sign-up, the seat counts
as they are now) is read for each request (courses/enrollment/page.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import get_template_attribute, request
from markupsafe import Markup

from classroom.cache import app_cache
from classroom.i18n import locale_code, select_timezone
from courses.catalog.content import render_markdown
from courses.catalog.queries import course_with_outline
from courses.enrollment.services import latest_announcements

KEPT = 128  # drawings per process (courses × languages × timezones); typically a few KB each
KEEP_SECONDS = 3600  # a version is never changed, only replaced: this bounds a change made behind the app's back
PARTS = "enrollment/_course_parts.html"


@dataclass(frozen=True)
class Drawing:
    """One version of a course as its page shows it, and the course's facts the page's rules read."""

    key: tuple  # what it is the drawing of: the course, its version, the language, timezone and script root
    title: str
    enroll_opens_at: datetime | None
    enroll_closes_at: datetime | None
    starts_on: date | None
    has_lessons: bool
    head: Markup  # the breadcrumb, the title and the line of facts under it
    body: Markup  # the summary, description, outline and class sessions
    linked_body: Markup  # the same, each lesson a link to its page (for those who study the course)
    news: Markup  # the latest announcements
    waitlist_news: Markup  # the latest of those posted to the waitlist too
    facts_head: Markup  # the facts above the seat counts
    facts_tail: Markup  # and below them
    rules: Markup  # what completes the course


def drawing(course_id: int, version: int) -> Drawing | None:
    """The drawing of this version of the course in the reader's language and timezone (None: no such course)."""
    key = (course_id, version, locale_code(), select_timezone(), request.script_root)  # (its links start there)
    return app_cache("course-pages", KEPT).get_or_set(key, KEEP_SECONDS, lambda: _draw(course_id, key))


def _draw(course_id: int, key: tuple) -> Drawing | None:
    """Read the course (with its unions, instructors, lessons, sessions and announcements: five statements) and
    draw it. Its caller read the version first, so what is drawn is that version or a newer one (never older:
    on PostgreSQL each statement sees the latest commits, READ COMMITTED; on SQLite both read in one transaction)."""
    course = course_with_outline(course_id)
    if course is None:
        return None
    description = render_markdown(course.description)

    def part(name: str, *args) -> Markup:
        return Markup(get_template_attribute(PARTS, name)(*args))  # noqa: S704 - our own template's macro

    return Drawing(
        key=key, title=course.title, enroll_opens_at=course.enroll_opens_at, enroll_closes_at=course.enroll_closes_at,
        starts_on=course.starts_on, has_lessons=bool(course.lessons), head=part("head", course),
        body=part("body", course, description, False), linked_body=part("body", course, description, True),
        news=part("news", latest_announcements(course.id, waitlist=False)),
        waitlist_news=part("news", latest_announcements(course.id, waitlist=True)),
        facts_head=part("facts_head", course), facts_tail=part("facts_tail", course), rules=part("rules", course))

"""The worker's calendar feed (iCalendar): the class sessions their reminders cover, with venue and an alarm."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event
from sqlalchemy import select

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.http import public_base_url, public_url
from classroom.notifications.models import CalendarFeed
from classroom.tokens import same_secret
from courses.catalog.models import ClassSession, Course
from courses.enrollment.models import Enrollment
from courses.reminders.audience import attends_sessions

KEPT_FOR = timedelta(days=90)  # classes that ended longer ago leave the feed
ALARM_BEFORE = timedelta(hours=2)


def feed_of(user_id: int) -> CalendarFeed:
    feed = db.session.get(CalendarFeed, user_id)
    if feed is None:
        feed = CalendarFeed(user_id=user_id, version=1)
        db.session.add(feed)
        db.session.flush()
    return feed


def secret_for(user_id: int, version: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"calendar:{user_id}:{version}".encode(), hashlib.sha256).hexdigest()
    return f"{user_id}-{digest[:32]}"


def user_for_secret(secret: str) -> User | None:
    """The person whose current feed secret this is, else None."""
    user_part, _sep, _digest = secret.partition("-")
    user_id = parse_id(user_part)
    if user_id is None:
        return None
    feed = db.session.get(CalendarFeed, user_id)
    if feed is None or not same_secret(secret_for(feed.user_id, feed.version), secret):
        return None
    return db.session.get(User, feed.user_id)


def reset(user_id: int) -> CalendarFeed:
    feed = feed_of(user_id)
    feed.version += 1
    return feed


def ics(person: User, *, now: datetime) -> bytes:
    """The person's class sessions of the last 90 days and ahead, those their reminders cover, in their
    language. Each event's stamps and SEQUENCE come from its record: the same schedule gives the same
    bytes, and a class that moved carries a higher SEQUENCE so calendar apps replace it."""
    rows = db.session.execute(
        select(ClassSession, Course.title).join(Course, Course.id == ClassSession.course_id)
        .join(Enrollment, Enrollment.course_id == Course.id).join(User, User.id == Enrollment.user_id)
        .where(Enrollment.user_id == person.id, attends_sessions(), ClassSession.ends_at >= now - KEPT_FOR)
        .order_by(ClassSession.starts_at, ClassSession.id)
    ).all()
    host = urlsplit(public_base_url()).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", "-//Worker Classroom//职工学堂//ZH")
    calendar.add("version", "2.0")
    with force_locale(person.locale or "zh_CN"):
        calendar.add("x-wr-calname", _("Worker Classroom"))
        for session, course_title in rows:
            calendar.add_component(_event(session, course_title, host=host))
    return calendar.to_ical()


def _event(session: ClassSession, course_title: str, *, host: str) -> Event:
    """One class as a VEVENT (texts in the current locale), with its alarm."""
    summary = f"{course_title} · {session.title}" if session.title else course_title
    location = " ".join(part for part in (session.venue_name, session.venue_address) if part)
    url = public_url("enrollment.course", course_id=session.course_id)
    event = Event()
    event.add("uid", f"session-{session.id}@{host}")
    event.add("sequence", session.sequence)
    event.add("dtstamp", session.updated_at)  # no METHOD: DTSTAMP is when the event last changed
    event.add("created", session.created_at)
    event.add("last-modified", session.updated_at)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", "\n".join((summary, _("Venue: %(venue)s", venue=location),
                                        _("Course page: %(url)s", url=url))))
    event.add("url", url)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", _("Class in 2 hours: %(title)s", title=summary))
    alarm.add("trigger", -ALARM_BEFORE)
    event.add_component(alarm)
    return event

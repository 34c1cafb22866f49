"""The worker's calendar feed (iCalendar): enrolled class sessions with venue and an alarm."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app
from icalendar import Alarm, Calendar, Event
from sqlalchemy import select

from classroom.accounts.tokens import same_secret
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.http import public_url
from classroom.notifications.models import CalendarFeed
from courses.catalog.models import ClassSession, Course
from courses.enrollment.models import Enrollment, EnrollmentStatus


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


def user_for_secret(secret: str) -> int | None:
    """The user whose current feed secret this is, else None."""
    user_part, _, _digest = secret.partition("-")
    user_id = parse_id(user_part)
    if user_id is None:
        return None
    feed = db.session.get(CalendarFeed, user_id)
    if feed is None or not same_secret(secret_for(feed.user_id, feed.version), secret):
        return None
    return feed.user_id


def reset(user_id: int) -> CalendarFeed:
    feed = feed_of(user_id)
    feed.version += 1
    return feed


def ics(user_id: int, *, now: datetime) -> bytes:
    """The person's class sessions (enrolled or completed courses), each with a 2-hour alarm."""
    rows = db.session.execute(
        select(ClassSession, Course.title).join(Course, Course.id == ClassSession.course_id)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == user_id,
               Enrollment.status.in_([EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED]),
               ClassSession.ends_at >= now - timedelta(days=90))
        .order_by(ClassSession.starts_at)
    ).all()
    calendar = Calendar()
    calendar.add("prodid", "-//Worker Classroom//职工学堂//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "职工学堂")
    for session, title in rows:
        event = Event()
        event.add("uid", f"session-{session.id}@classroom")
        event.add("summary", f"{title}{' · ' + session.title if session.title else ''}")
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("dtstamp", now)
        event.add("location", " ".join(part for part in (session.venue_name, session.venue_address) if part))
        event.add("url", public_url("enrollment.course", course_id=session.course_id))
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", timedelta(hours=-2))
        event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()

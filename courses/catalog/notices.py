"""Notifications to the people around a course: its reviewers and its instructors."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, url_for
from sqlalchemy import literal, select

from classroom.accounts.models import Role, RoleGrant, User
from classroom.extensions import db
from classroom.notifications.services import notify, notify_many
from classroom.unions.models import TradeUnion
from courses.catalog.models import Course


def reviewers_of_union(union: TradeUnion) -> list[User]:
    """Union admins whose node is this union or above it."""
    admins = (select(RoleGrant.user_id).join(TradeUnion, TradeUnion.id == RoleGrant.union_id)
              .where(RoleGrant.role == Role.UNION_ADMIN, literal(union.path).like(TradeUnion.path + "%")))
    return list(db.session.scalars(select(User).where(User.id.in_(admins))))


def reviewers_of(course: Course) -> list[User]:
    """Union admins whose node is the course's scope or above it."""
    return reviewers_of_union(course.scope_union)


def _path_for(endpoint: str, **values) -> str:
    """The path of a page, for a notification's link; services also run outside a request."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def notify_reviewers(course: Course, kind: str, key: str, title, *, now: datetime,
                     reviewers: list[User] | None = None) -> None:
    """Tell the course's reviewers (or ``reviewers``) something waits in the review queue."""
    notify_many(reviewers_of(course) if reviewers is None else reviewers, kind, key, title,
                link=_path_for("review.index"), params={"title": course.title}, now=now)


def notify_instructors(course: Course, kind: str, key: str, title, *, now: datetime, body="", **params) -> None:
    """Tell each of the course's instructors, with a link to its teaching page."""
    link = _path_for("teach.course", course_id=course.id)
    for person in course.instructors:
        notify(person, kind, f"{key}:{person.id}", title, body, link=link, params={"title": course.title, **params},
               now=now)

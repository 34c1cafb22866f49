"""The calendar feed: /me/calendar (the link and its reset) and /me/calendar/<secret>.ics."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow, writes
from classroom.extensions import limiter
from classroom.http import perform, public_url
from courses.reminders import calendar

bp = Blueprint("reminders", __name__)


@bp.route("/me/calendar")
@writes
@login_required
def calendar_page():
    feed = perform(lambda: calendar.feed_of(current_user.id)).value
    url = public_url("reminders.feed", secret=calendar.secret_for(feed.user_id, feed.version))
    return render_template("reminders/calendar.html", url=url)


@bp.route("/me/calendar/reset", methods=["POST"])
@login_required
def reset():
    perform(lambda: calendar.reset(current_user.id),
            success=_("A new calendar link is ready; the old one no longer works."))
    return redirect(url_for("reminders.calendar_page"))


@bp.route("/me/calendar/<secret>.ics")
@limiter.limit("60 per minute")
def feed(secret: str):
    person = calendar.user_for_secret(secret)
    if person is None:
        abort(404)
    response = make_response(calendar.ics(person, now=utcnow()))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="classroom.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

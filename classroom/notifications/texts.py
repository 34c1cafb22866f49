"""The text message of a notification: one segment (70 characters with any Chinese in it) where it can
be, the signature first. A class reminder names the course, the day and the time (in the person's
timezone) and the venue; other kinds say their title. A long course title is what gets cut, with "…",
never the time."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from classroom.accounts.models import User
from classroom.notifications.facts import Reader
from classroom.notifications.models import Notification, OutboundMessage
from classroom.sms import SIGNATURE, fit, length

CLASS_REMINDER = _l("%(course)s: class %(when)s, %(venue)s")
ROUND_REMINDER = _l("%(competition)s %(stage)s: %(when)s, %(venue)s")


def sms_text(message: OutboundMessage, person: User, notification: Notification | None) -> str:
    """The message to text this person, in their language and timezone."""
    facts = notification.facts if notification is not None else None
    reader = Reader(person.locale, person.timezone)
    with force_locale(person.locale or "zh_CN"):
        if facts and message.kind == "session.reminder" and facts.get("starts_at"):
            return _timed(CLASS_REMINDER, facts, reader, ("course", "venue"))
        if facts and message.kind == "competition.stage" and facts.get("starts_at"):
            return _timed(ROUND_REMINDER, facts, reader, ("competition", "stage", "venue"))
        return titled(message.subject, message.body, facts or {})


def _timed(template: object, facts: dict, reader: Reader, names: tuple[str, ...]) -> str:
    values = {name: facts.get(name) or "" for name in names}
    when = reader.short(facts.get("starts_at"), facts.get("ends_at"))
    text = SIGNATURE + str(template).replace("%(when)s", when.replace("%", "%%"))
    return fit(text, values)


def titled(subject: str, body: str, facts: dict) -> str:
    """The signature, the title and the body in one segment: the names inside the title (a course's,
    a union's …, as the facts hold them) and the body are cut before the rest of the title."""
    template, values = subject.replace("%", "%%"), {}
    names = sorted((value for value in facts.values() if isinstance(value, str) and length(value) >= 4),
                   key=len, reverse=True)
    for index, name in enumerate(names):
        escaped = name.replace("%", "%%")
        if escaped in template:
            template = template.replace(escaped, f"%(v{index})s", 1)
            values[f"v{index}"] = name
    if body:
        template, values["body"] = template + " %(body)s", " ".join(body.split())
    return fit(SIGNATURE + template, values)

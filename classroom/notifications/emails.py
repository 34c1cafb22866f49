"""The email of a notification: its kind's template (templates/email/<kind>.txt) rendered in the
recipient's language and timezone, as a text part and an HTML part (templates/email/_layout.*), from the
facts the notification keeps. A row without facts (made before they were kept) reads as before: its
title and body (templates/email/_generic.txt).

A kind template extends ``layout`` and sets what the layout shows, all as plain text (the HTML layout
escapes it): ``lead`` (what happened, paragraphs apart by a blank line), ``facts`` (label and value
pairs, empty values left out), ``note_title`` and ``note`` (a text quoted as it was written),
``entries`` (a list of items: title, text, when, link), ``action`` (the link's words) and ``reason``
(why the person gets it, for the footer)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask_babel import force_locale
from jinja2 import Template, TemplateNotFound

from classroom.accounts.models import User
from classroom.http import public_url
from classroom.mail import compose
from classroom.notifications.facts import Reader
from classroom.notifications.kinds import kinds
from classroom.notifications.models import Notification, OutboundMessage
from classroom.notifications.unsubscribe import unsubscribe_url

LAYOUT_TEXT, LAYOUT_HTML = "email/_layout.txt", "email/_layout.html"
GENERIC = "email/_generic.txt"


def absolute(link: str | None) -> str:
    """A notification's link as an absolute URL on the site; its list when it has none."""
    if link and link.startswith("/") and not link.startswith("//"):
        return public_url(link)
    if link and link.startswith(("https://", "http://")):
        return link
    return public_url("notifications.index")


def template_for(kind: str, facts: dict | None) -> Template:
    """The kind's template, or the generic one for a kind without one or a row without facts."""
    env = current_app.jinja_env
    if facts is not None:
        try:
            return env.get_template(f"email/{kind}.txt")
        except TemplateNotFound:
            pass
    return env.get_template(GENERIC)


def context(message: OutboundMessage, person: User, notification: Notification | None) -> dict[str, Any]:
    """What a kind template reads: the facts ``f``, the texts, the links, the formatting helpers."""
    reader = Reader(person.locale, person.timezone)
    facts = notification.facts if notification is not None else message.facts
    kind = kinds().get(message.kind)
    return dict(
        f=facts or {}, has_facts=facts is not None, subject=message.subject, text=message.body,
        name=person.real_name, locale=reader.locale, kind=message.kind,
        kind_label=str(kind.label) if kind else message.kind,
        link=absolute(notification.link if notification is not None else None),
        at=reader.when(notification.created_at if notification is not None else message.created_at),
        day=reader.day, clock=reader.clock, span=reader.span, when=reader.when, absolute=absolute,
        home_url=public_url("/"), settings_url=public_url("notifications.settings"),
        unsubscribe_url=unsubscribe_url(person.id, message.kind),
    )


def render(message: OutboundMessage, person: User, notification: Notification | None) -> tuple[str, str]:
    """The text and the HTML of the email, in the recipient's language."""
    with force_locale(person.locale or "zh_CN"):
        values = context(message, person, notification)
        template = template_for(message.kind, values["f"] if values["has_facts"] else None)
        text = template.render(layout=LAYOUT_TEXT, **values)
        html = template.render(layout=LAYOUT_HTML, **values)
    return text.strip() + "\n", html


def build(message: OutboundMessage, person: User, notification: Notification | None, *, to: str) -> EmailMessage:
    """The email of an outbox message to ``to`` (the person's address): both parts, and the headers (Date,
    Message-ID, List-Unsubscribe …)."""
    text, html = render(message, person, notification)
    return compose(to, message.subject, text, html,
                   unsubscribe=unsubscribe_url(person.id, message.kind),
                   headers={"X-Classroom-Dedup-Key": message.dedup_key})

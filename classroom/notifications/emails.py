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

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale, get_translations
from jinja2 import Template, TemplateNotFound, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from classroom.accounts.models import User
from classroom.http import public_base_url, public_url
from classroom.mail import compose
from classroom.mail_wire import Wire, wire
from classroom.notifications.facts import Reader, babel_locale
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
    return site_links()["list"]


def site_links() -> dict[str, str]:
    """The links every email has (home, notification settings, the list): built once per site address."""
    base = public_base_url()
    cache = current_app.extensions.setdefault("email_site_links", {})
    if base not in cache:
        cache[base] = {"home": public_url("/"), "settings": public_url("notifications.settings"),
                       "list": public_url("notifications.index")}
    return cache[base]


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
    links = site_links()
    return dict(
        f=facts or {}, has_facts=facts is not None, subject=message.subject, text=message.body,
        name=person.real_name, locale=reader.locale, kind=message.kind,
        kind_label=str(kind.label) if kind else message.kind,
        link=absolute(notification.link if notification is not None else None),
        at=reader.when(notification.created_at if notification is not None else message.created_at),
        day=reader.day, clock=reader.clock, span=reader.span, when=reader.when, absolute=absolute,
        home_url=links["home"], settings_url=links["settings"],
        unsubscribe_url=unsubscribe_url(person.id, message.kind),
    )


def render(message: OutboundMessage, person: User, notification: Notification | None) -> tuple[str, str]:
    """The text and the HTML of the email, in the recipient's language."""
    text, html, _values = _render(message, person, notification)
    return text, html


def _render(message: OutboundMessage, person: User,
            notification: Notification | None) -> tuple[str, str, dict[str, Any]]:
    with force_locale(babel_locale(person.locale or "zh_CN")):
        values = context(message, person, notification)
        template = template_for(message.kind, values["f"] if values["has_facts"] else None)
        gettext = _gettext(get_translations().ugettext)  # (``_`` is an alias of ``gettext``)
        text = template.render(layout=LAYOUT_TEXT, gettext=gettext, _=gettext, **values)
        html = template.render(layout=LAYOUT_HTML, gettext=gettext, _=gettext, **values)
    return text.strip() + "\n", html, values


def _gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    """The templates' ``_()`` bound to one catalogue: Flask-Babel's (Jinja's new-style gettext, escaping
    where autoescaping) without finding the catalogue again for every string of every email."""

    @pass_context
    def gettext(context: Context, text: str, /, **variables: Any) -> str:
        translated = translate(text)
        if context.eval_ctx.autoescape:
            translated = Markup(translated)  # noqa: S704 - a catalogue's text, its values escaped by %
        return translated % variables

    return gettext


def build(message: OutboundMessage, person: User, notification: Notification | None, *, to: str) -> EmailMessage:
    """The email of an outbox message to ``to`` (the person's address): both parts, and the headers (Date,
    Message-ID, List-Unsubscribe …)."""
    return cast(EmailMessage, _made(compose, message, person, notification, to))


def prepare(message: OutboundMessage, person: User, notification: Notification | None, *,
            to: str) -> Wire | EmailMessage:
    """``build()``'s email as it goes on the wire (``classroom.mail_wire``): what the dispatcher sends."""
    return _made(wire, message, person, notification, to)


def _made(make: Callable[..., Any], message: OutboundMessage, person: User, notification: Notification | None,
          to: str) -> Any:
    text, html, values = _render(message, person, notification)
    return make(to, message.subject, text, html, unsubscribe=values["unsubscribe_url"],
                headers={"X-Classroom-Dedup-Key": message.dedup_key})

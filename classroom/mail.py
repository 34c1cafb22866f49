"""Email: compose() builds a message, send_mail() hands one to the configured backend.

``MAIL_BACKEND = "log"`` (the default) writes the message to the log; ``"smtp"`` sends it through
``MAIL_SERVER`` / ``MAIL_PORT`` (STARTTLS with ``MAIL_USE_TLS``, log-in with ``MAIL_USERNAME``);
a dotted class path plugs in another backend offering ``send(message)``.

Every message is multipart/alternative (a text part and a simple HTML part) with the headers large
providers require: Date (RFC 5322) and a Message-ID on the site's own domain; a notification adds
List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
"""

from __future__ import annotations

import contextlib
import email.policy
import logging
import smtplib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import current_app

from classroom.http import public_base_url
from classroom.sms import load_backend

logger = logging.getLogger("classroom.mail")
# Headers we set whole (List-Unsubscribe) are written on one line as they are: refolding a long one
# would encode its URL as an RFC 2047 word, which no mail client reads back as a link.
POLICY = email.policy.default.clone(refold_source="none")


class MailBackend(Protocol):
    """A transport: built with the app's config, it sends one message."""

    def send(self, message: EmailMessage) -> None:
        """Send the message; raise on failure (the outbox retries unless the error is permanent)."""


class LogBackend:
    """Writes each message to the log (development, demo, tests)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        """Log the message's recipient, subject and text."""
        body = message.get_body(("plain",))
        logger.info("Mail to %s: %s\n%s", message["To"], message["Subject"], body.get_content() if body else "")


class SMTPBackend:
    """Sends through MAIL_SERVER (STARTTLS with MAIL_USE_TLS, log-in with MAIL_USERNAME). Alone, a message
    gets its own SMTP session; inside ``held_open()`` (the outbox dispatcher's run, batch after batch) one
    session per thread carries every message, and a session the server dropped meanwhile is reopened once.
    ``send_raw`` takes an email already made into bytes (``classroom.mail_wire``, the dispatcher's)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._local = threading.local()  # this thread's open session and how many batches hold it
        self.opened = 0  # SMTP sessions opened by this backend (a figure for tests and benchmarks)

    def _open(self) -> smtplib.SMTP:
        config = self.config
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
        try:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        self.opened += 1
        return smtp

    def _close(self) -> None:
        smtp, self._local.smtp = getattr(self._local, "smtp", None), None
        if smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()

    @contextlib.contextmanager
    def held_open(self) -> Iterator[None]:
        """Keep this thread's SMTP session open for every message sent in the block; closed at its end."""
        self._local.holds = getattr(self._local, "holds", 0) + 1
        try:
            yield
        finally:
            self._local.holds -= 1
            if not self._local.holds:
                self._close()

    def send(self, message: EmailMessage) -> None:
        """Send over the held session (reopened once if the server closed it idle), or a session of its own."""
        self._over_session(lambda smtp: smtp.send_message(message))

    def send_raw(self, sender: str, recipients: Sequence[str], data: bytes) -> None:
        """Send an email already made into bytes (``classroom.mail_wire``), with its envelope, as ``send`` does."""
        self._over_session(lambda smtp: smtp.sendmail(sender, list(recipients), data))

    def _over_session(self, action: Callable[[smtplib.SMTP], object]) -> None:
        smtp = getattr(self._local, "smtp", None)
        reused = smtp is not None
        try:
            if smtp is None:
                smtp = self._local.smtp = self._open()
            try:
                action(smtp)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                self._close()  # dropped while idle: nothing of this message was accepted, so once more
                smtp = self._local.smtp = self._open()
                action(smtp)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
            if not getattr(self._local, "holds", 0):  # refused, but the session is sound (smtplib reset it)
                self._close()
            raise
        except BaseException:
            self._close()  # in an unknown state: the next message opens a new session
            raise
        if not getattr(self._local, "holds", 0):
            self._close()


@contextlib.contextmanager
def held_open() -> Iterator[None]:
    """Keep the mail backend's connection open across the block (a batch), when the backend has one."""
    hold = getattr(backend(), "held_open", None)
    with hold() if hold is not None else contextlib.nullcontext():
        yield


def backend() -> MailBackend:
    """The app's mail backend, built once per app."""
    name = current_app.config["MAIL_BACKEND"]
    cache = current_app.extensions.setdefault("mail_backend", {})
    if name not in cache:
        cache[name] = load_backend(name, {"log": LogBackend, "smtp": SMTPBackend}, current_app.config)
    return cache[name]


def site_domain() -> str:
    """The host of the site's public address (PUBLIC_BASE_URL): the domain of our Message-IDs."""
    return urlsplit(public_base_url()).hostname or "localhost"


def one_line(text: str) -> str:
    """A header value on one line (a title may hold a line break; a header may not)."""
    return " ".join(str(text).split())


def compose(to: str, subject: str, text: str, html: str, *, unsubscribe: str | None = None,
            headers: dict[str, str] | None = None) -> EmailMessage:
    """A multipart/alternative message: ``text`` and ``html`` parts, Date, Message-ID on the site's domain,
    and with ``unsubscribe`` (an https link) List-Unsubscribe and List-Unsubscribe-Post: One-Click."""
    message = EmailMessage(policy=POLICY)
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=site_domain())
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    if unsubscribe:
        message.set_raw("List-Unsubscribe", f"<{unsubscribe}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (headers or {}).items():
        message[name] = one_line(value)
    message.set_content(text, cte=None if text.isascii() else "base64")
    message.add_alternative(html, subtype="html", cte=None if html.isascii() else "base64")
    return message


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a text (with its HTML twin: paragraphs, and links for lines that are one); a failure is
    logged, never raised. True when handed over."""
    try:
        html = current_app.jinja_env.get_template("email/_plain.html").render(subject=subject, body=body)
        backend().send(compose(to, subject, body, html))
    except Exception:  # noqa: BLE001 - any transport error
        logger.exception("Mail to %s failed", to)
        return False
    return True

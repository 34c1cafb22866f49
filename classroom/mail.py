"""Email: send_mail() hands a message to the configured backend.

``MAIL_BACKEND = "log"`` (the default) writes the message to the log; ``"smtp"`` sends it through
``MAIL_SERVER`` / ``MAIL_PORT`` (STARTTLS with ``MAIL_USE_TLS``, log-in with ``MAIL_USERNAME``);
a dotted class path plugs in another backend offering ``send(message)``.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

from classroom.sms import load_backend

logger = logging.getLogger("classroom.mail")


class LogBackend:
    def __init__(self, config) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        logger.info("Mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content())


class SMTPBackend:
    def __init__(self, config) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        config = self.config
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)


def backend():
    name = current_app.config["MAIL_BACKEND"]
    cache = current_app.extensions.setdefault("mail_backend", {})
    if name not in cache:
        cache[name] = load_backend(name, {"log": LogBackend, "smtp": SMTPBackend}, current_app.config)
    return cache[name]


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a plain-text message; a failure is logged, never raised. True when handed over."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        backend().send(message)
    except Exception:  # noqa: BLE001 - any transport error
        logger.exception("Mail to %s failed", to)
        return False
    return True

"""The drill's mail server: aiosmtpd (what the test suite sends to) on a free port, keeping who got which
message, so that every announcement recipient can be counted at the end."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[tuple[str, ...], str]] = []  # (recipients, subject + plain text)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = str(message.get("Subject", ""))
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                text += "\n" + str(part.get_content())
        with self.lock:
            self.messages.append((tuple(address.lower() for address in envelope.rcpt_tos), text))
        return "250 OK"

    def recipients_of(self, marker: str) -> Counter:
        """How many messages each address got whose subject or text carries ``marker``."""
        with self.lock:
            return Counter(address for recipients, text in self.messages if marker in text for address in recipients)


class Sink:
    def __init__(self, port: int) -> None:
        self.inbox = Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

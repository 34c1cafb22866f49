"""An email as it goes on the wire, made quickly: the bytes ``compose()`` makes and smtplib's ``send_message``
writes, the same byte for byte but for the random boundary, the Date and the Message-ID, and its envelope;
without the email package's work per message (a header object per header, its folding, the generator).

A header line is written as it is given when the package would write it so (short printable ASCII of a
form checked below); any other (Chinese, long, a display name …) is folded by the package itself, and
remembered: the sender, a batch's subjects and a person's address come back. What this way does not cover
(an address that needs SMTPUTF8, an ASCII part with lines too long for 7bit) is left to ``compose()``.
tests/test_mail_wire.py compares the two ways, and reads the bytes back with the email parser."""

from __future__ import annotations

import base64
import random
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from functools import lru_cache

from flask import current_app

from classroom.mail import POLICY, backend, compose, one_line, site_domain

SMTP_POLICY = POLICY.clone(linesep="\r\n")  # what smtplib's send_message writes with
MAX_LINE = POLICY.max_line_length or 78
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
# Values the package writes back exactly as given (tests/test_mail_wire.py checks each form):
ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_DOMAIN}")  # a bare address, no display name
MESSAGE_ID = re.compile(rf"<{_ATOM}(?:\.{_ATOM})*@{_DOMAIN}>")
TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words one space apart
BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))  # as the email package's generator makes them


@dataclass(frozen=True)
class Wire:
    """An email's envelope and bytes (CRLF lines), ready for SMTP's DATA."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        """The email read back, for a backend that takes messages rather than bytes."""
        return message_from_bytes(self.data, policy=POLICY)


def wire(to: str, subject: str, text: str, html: str, *, unsubscribe: str | None = None,
         headers: dict[str, str] | None = None) -> Wire | EmailMessage:
    """``compose()``'s email as bytes (the same arguments), or, where this way does not apply, compose()'s."""
    sender, envelope_from = _sender(current_app.config["MAIL_DEFAULT_SENDER"])
    plain, rich = _part(text, "plain"), _part(html, "html")
    if plain is None or rich is None or not ADDRESS.fullmatch(to) or not envelope_from.isascii() \
            or not (unsubscribe or "").isascii() or not (unsubscribe or "").isprintable():
        return compose(to, subject, text, html, unsubscribe=unsubscribe, headers=headers)
    lines = [sender, _line("To", to, ADDRESS), _line("Subject", one_line(subject), TEXT),
             _line("Date", format_datetime(datetime.now(UTC)), None),
             _line("Message-ID", make_msgid(domain=site_domain()), MESSAGE_ID),
             b"Auto-Submitted: auto-generated\r\n"]
    if unsubscribe:  # set whole (compose's set_raw): one line as it is
        lines += [f"List-Unsubscribe: <{unsubscribe}>\r\n".encode(),
                  b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"]
    lines += [_line(name, one_line(value), TEXT) for name, value in (headers or {}).items()]
    boundary = _boundary([plain, rich])
    lines += [f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'
              f"--{boundary}\r\n".encode(), plain, f"\r\n--{boundary}\r\n".encode(), rich,
              f"\r\n--{boundary}--\r\n".encode()]
    return Wire(envelope_from, (to,), b"".join(lines))


def transmit(mail: Wire | EmailMessage) -> None:
    """Hand the email to the mail backend: as bytes to one that takes them (SMTP), else as a message."""
    transport = backend()
    send_raw = getattr(transport, "send_raw", None)
    if isinstance(mail, Wire) and send_raw is not None:
        send_raw(mail.sender, mail.recipients, mail.data)
    else:
        transport.send(mail.message() if isinstance(mail, Wire) else mail)


@lru_cache(maxsize=64)
def _sender(value: str) -> tuple[bytes, str]:
    """The From line and the envelope's sender, as smtplib's send_message takes it from the header."""
    name, header = SMTP_POLICY.header_store_parse("From", value)
    return SMTP_POLICY.fold_binary(name, header), getaddresses([str(header)])[0][1]


def _line(name: str, value: str, plain: re.Pattern[str] | None) -> bytes:
    """``name: value`` as the email package folds it: as given when it is of the ``plain`` form and fits."""
    if (plain is None or (plain.fullmatch(value) and "=?" not in value)) and len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}\r\n".encode("ascii")
    return _folded(name, value)


@lru_cache(maxsize=4096)
def _folded(name: str, value: str) -> bytes:
    return SMTP_POLICY.fold_binary(*SMTP_POLICY.header_store_parse(name, value))


def _part(content: str, subtype: str) -> bytes | None:
    """A text part as compose() makes it (base64 unless ASCII; for ASCII, 7bit when every line fits), or None
    for an ASCII text with a long line (the package then chooses between quoted-printable and base64)."""
    lines = content.encode("utf-8").splitlines()
    if not content.isascii():
        cte, body = "base64", base64.encodebytes(b"\n".join(lines) + b"\n").replace(b"\n", b"\r\n")
    elif max((len(line) for line in lines), default=0) <= MAX_LINE:
        cte, body = "7bit", b"\r\n".join(lines) + b"\r\n"
    else:
        return None
    extra = "MIME-Version: 1.0\r\n" if subtype == "html" else ""  # add_alternative's part is an EmailMessage
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n{extra}\r\n'
            .encode() + body)


def _boundary(parts: list[bytes]) -> str:
    """A boundary like the email package's, found in no part."""
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):0{BOUNDARY_DIGITS}d}=="  # noqa: S311 - not a secret
        if not any(f"--{boundary}".encode() in part for part in parts):
            return boundary

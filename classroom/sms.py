"""Text messages: send_sms() hands a message to the configured gateway.

``SMS_BACKEND = "log"`` (the default) only writes the message to the log. A real gateway plugs in
by config: ``SMS_BACKEND = "package.module.ClassName"``, a class built with the app's config and
offering ``send(mobile, text)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any, Protocol

from flask import current_app

from classroom.personal_data import mask_mobile

logger = logging.getLogger("classroom.sms")
SEGMENT = 70  # characters in one message holding any Chinese character (UCS-2); longer ones are split in 67s
SIGNATURE = "【职工学堂】"  # the sender's name as registered with the gateway, on every message


def length(text: str) -> int:
    """The text's length as a gateway counts it for Chinese (UCS-2): characters beyond the BMP count twice."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, size: int) -> str:
    """``text`` in at most ``size`` characters, cut with "…" when it is longer."""
    if length(text) <= size:
        return text
    cut = text
    while cut and length(cut) > size - 1:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def fit(template: str, values: dict[str, str], *, limit: int = SEGMENT) -> str:
    """``template % values`` in one message: the longest value is cut with "…" until the text fits (the
    template's own words, a time say, are never cut); if even that is not enough, the text itself is cut."""
    values = {key: " ".join(str(value).split()) for key, value in values.items()}
    while length(template % values) > limit:
        longest = max(values, key=lambda key: length(values[key]), default=None)
        if longest is None or length(values[longest]) <= 2:
            break
        values[longest] = shorten(values[longest], length(values[longest]) - 1)
    return shorten(template % values, limit)


class SMSBackend(Protocol):
    """A gateway: built with the app's config, it sends one text to one mobile number."""

    def send(self, mobile: str, text: str) -> None:
        """Send the text; raise on failure (``permanent = True`` on the error: never retry it)."""


class LogBackend:
    """Writes each message to the log (development, demo, tests)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def send(self, mobile: str, text: str) -> None:
        """Log the message, the number masked."""
        logger.info("SMS to %s: %s", mask_mobile(mobile), text)


def load_backend(name: str, builtin: Mapping[str, Callable[[Mapping[str, Any]], Any]],
                 config: Mapping[str, Any]) -> Any:
    """An instance of a built-in backend by name, or of a class given by its dotted path."""
    if name in builtin:
        return builtin[name](config)
    module_name, _, class_name = name.rpartition(".")
    if not module_name:
        raise RuntimeError(f"unknown backend {name!r}")
    return getattr(import_module(module_name), class_name)(config)


def backend() -> SMSBackend:
    """The app's SMS backend, built once per app."""
    name = current_app.config["SMS_BACKEND"]
    cache = current_app.extensions.setdefault("sms_backend", {})
    if name not in cache:
        cache[name] = load_backend(name, {"log": LogBackend}, current_app.config)
    return cache[name]


def send_sms(mobile: str, text: str) -> bool:
    """Send one message; a gateway failure is logged, never raised (the caller's answer must not
    depend on it). True when the gateway accepted the message."""
    try:
        backend().send(mobile, text)
    except Exception:  # noqa: BLE001 - any gateway error
        logger.exception("SMS to %s failed", mask_mobile(mobile))
        return False
    return True

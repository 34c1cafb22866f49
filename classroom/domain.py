"""Domain errors: services raise them, views turn them into messages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request. ``message`` is a (lazily) translated text for the person."""

    message: object = "The request could not be completed."

    def __init__(self, message: object = None, *, field: str | None = None, **params: object) -> None:
        self.message = message if message is not None else type(self).message
        self.field = field  # the form field the message belongs to, when there is one
        self.params = params
        super().__init__(str(self))

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class NotAllowed(DomainError):
    """The person may not do this to this object."""


class Conflict(DomainError):
    """The object's state does not allow the change (already decided, full, closed …)."""


class Invalid(DomainError):
    """The input breaks a rule."""

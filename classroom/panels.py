"""Pages of the shell that features add panels to, without the shell importing the features."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Panel = tuple[str, dict[str, Any]]


class Panels:
    """An ordered set of callables ``(user) -> (template name, context) | None``."""

    def __init__(self) -> None:
        self._sources: list[Callable[[Any], Panel | None]] = []

    def register(self, source: Callable[[Any], Panel | None]) -> Callable[[Any], Panel | None]:
        if source not in self._sources:
            self._sources.append(source)
        return source

    def for_user(self, user) -> list[Panel]:
        return [panel for panel in (source(user) for source in self._sources) if panel]


home_panels = Panels()  # the home page (/)
me_panels = Panels()  # the worker's own page (/me)

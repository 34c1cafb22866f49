"""What the packages plug into the shell, kept per app on ``app.extensions["classroom"]``.

Importing a module registers nothing: each package's ``init_app(app)`` adds its scheduled jobs,
notification kinds, health checks, panels, data sections, erasures, approval counters and demo
data here, and ``create_app()`` calls those ``init_app`` functions in a visible order. A shell
module reads what the features brought through ``registry()``, never by importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from classroom.accounts.models import User

Panel = tuple[str, dict[str, Any]]
PanelSource = Callable[[Any], Panel | None]
ScheduleSource = Callable[[Any, datetime, datetime, int], list[Any]]  # (user, start, end, limit) → agenda items
ApprovalCounter = Callable[[datetime], dict[int, dict[str, int]]]


@dataclass(frozen=True)
class Job:
    """A scheduled scan: ``func(now=…, [still_leading=…])`` every ``seconds_setting`` seconds."""

    name: str
    func: Callable[..., Any]
    seconds_setting: str
    checks_leadership: bool = False  # func takes still_leading: a callable to ask between batches


@dataclass(frozen=True)
class Kind:
    """A kind of notification and whether its email and text message are on by default."""

    name: str
    label: object
    email: bool = True  # on by default for people with an email address
    sms: bool = False


@dataclass
class Registry:
    """The app's registries; each package's ``init_app`` fills its part."""

    jobs: dict[str, Job] = field(default_factory=dict)
    health_checks: list[Callable[[], dict]] = field(default_factory=list)
    kinds: dict[str, Kind] = field(default_factory=dict)
    home_panels: list[PanelSource] = field(default_factory=list)  # the home page (/)
    me_panels: list[PanelSource] = field(default_factory=list)  # the worker's own page (/me)
    schedule_sources: list[ScheduleSource] = field(default_factory=list)  # /me/schedule (classroom/agenda.py)
    data_sections: dict[str, Callable[[User], Any]] = field(default_factory=dict)  # the personal-data download
    erasures: list[Callable[[User, datetime], None]] = field(default_factory=list)  # closing an account
    approval_counters: list[ApprovalCounter] = field(default_factory=list)  # the approvers' digest
    digest_labels: dict[str, object] = field(default_factory=dict)
    demo_extensions: list[Callable[..., Any]] = field(default_factory=list)  # flask seed-demo
    scale_extensions: list[tuple[Callable[..., Any], tuple]] = field(default_factory=list)  # seed-scale, its options
    tasks: dict[str, Callable[..., Any]] = field(default_factory=dict)  # what the job queue runs, by name

    def add_job(self, name: str, func: Callable[..., Any], seconds_setting: str, *,
                checks_leadership: bool = False) -> None:
        self.jobs[name] = Job(name, func, seconds_setting, checks_leadership)

    def add_kind(self, name: str, label: object, *, email: bool = True, sms: bool = False) -> None:
        self.kinds[name] = Kind(name, label, email, sms)

    def add_approval_counter(self, counter: ApprovalCounter, labels: dict[str, object]) -> None:
        self.approval_counters.append(counter)
        self.digest_labels.update(labels)


def init_app(app: Flask) -> Registry:
    """Give the app its empty registries (the first step of ``create_app``)."""
    return app.extensions.setdefault("classroom", Registry())


def registry(app: Flask | None = None) -> Registry:
    """The registries of ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    return target.extensions["classroom"]


def panels_for(sources: list[PanelSource], user) -> list[Panel]:
    """The panels the sources give for ``user``, in order (a source may give none)."""
    return [panel for panel in (source(user) for source in sources) if panel]

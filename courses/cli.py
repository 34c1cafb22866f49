"""The learning domain's commands and its part of the demo data."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The certificates' and hours' commands; courses, certificates and competitions in seed-demo; hours in
    seed-scale."""
    from courses.certificates.cli import certificates_cli
    from courses.certificates.seed import seed_certificates
    from courses.competitions.seed import seed_competitions
    from courses.hours.cli import hours_cli
    from courses.hours.scale import HOURS_OPTION, seed_hours
    from courses.seed import seed_courses

    registry = app.extensions["classroom"]
    registry.demo_extensions.extend([
        seed_courses,
        seed_certificates,  # after the courses: it certifies completed demo sign-ups
        seed_competitions,  # after both: the skills contests, entered through the services
    ])
    registry.scale_extensions.append((seed_hours, (HOURS_OPTION,)))
    app.cli.add_command(certificates_cli)
    app.cli.add_command(hours_cli)

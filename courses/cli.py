"""The learning domain's commands and its part of the demo data."""

from __future__ import annotations

from classroom.seed import register_demo_extension
from classroom.seed_scale import register_scale_extension


def init_app(app) -> None:
    from courses.certificates.cli import certificates_cli
    from courses.certificates.seed import seed_certificates
    from courses.competitions.seed import seed_competitions
    from courses.hours.cli import hours_cli
    from courses.hours.scale import HOURS_OPTION, seed_hours
    from courses.seed import seed_courses

    register_demo_extension(seed_courses)
    register_demo_extension(seed_certificates)  # after the courses: it certifies completed demo sign-ups
    register_demo_extension(seed_competitions)  # after both: the skills contests, entered through the services
    app.cli.add_command(certificates_cli)
    app.cli.add_command(hours_cli)
    register_scale_extension(seed_hours, HOURS_OPTION)

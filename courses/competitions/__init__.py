"""Labour and skills competitions: notices, events, entries, quotas, approvals, scores and results."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The competition pages and API, the home panel, notification kinds and scans; award facts for certificates."""
    # Imported here, not at the top: any package may import courses.competitions.models, which runs this
    # file first; it must not pull in the views (and through them half the app) at that point.
    from classroom.api import add_blueprint
    from courses.certificates.kinds import award_facts_wanted
    from courses.competitions import agenda, api, entries_api, jobs, kinds, publication, views

    app.register_blueprint(views.bp)
    add_blueprint(app, api.bp)
    add_blueprint(app, entries_api.bp)
    registry = app.extensions["classroom"]
    registry.home_panels.append(views.home_section)
    registry.schedule_sources.append(agenda.schedule_items)
    for name, label, email, sms in kinds.COMPETITION_KINDS:
        registry.add_kind(name, label, email=email, sms=sms)
    jobs.init_app(app)
    award_facts_wanted.connect(publication.facts_of_an_award)

"""The notification kinds of competitions (people choose their channels per kind): (name, label, email on
by default, text message on by default); ``courses.competitions.init_app`` adds them to the registry."""

from flask_babel import lazy_gettext as _l

COMPETITION_KINDS = [
    ("competition.entry", _l("Competition entries: each decision"), True, False),
    ("competition.invitation", _l("Invitations to a competition team"), True, True),
    ("competition.results", _l("Competition results and awards"), True, False),
    ("competition.closing", _l("Competition sign-up closing soon"), True, False),
    ("competition.stage", _l("A competition round starts tomorrow"), True, True),
]

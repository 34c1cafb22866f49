"""The notification kinds of competitions (people choose their channels per kind)."""

from flask_babel import lazy_gettext as _l

from classroom.notifications.kinds import register_kind

register_kind("competition.entry", _l("Competition entries: each decision"), email=True, sms=False)
register_kind("competition.invitation", _l("Invitations to a competition team"), email=True, sms=True)
register_kind("competition.results", _l("Competition results and awards"), email=True, sms=False)
register_kind("competition.closing", _l("Competition sign-up closing soon"), email=True, sms=False)
register_kind("competition.stage", _l("A competition round starts tomorrow"), email=True, sms=True)

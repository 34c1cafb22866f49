"""The kinds of notification and the channels each uses by default; features register theirs."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    name: str
    label: object
    email: bool = True  # on by default for people with an email address
    sms: bool = False


KINDS: dict[str, Kind] = {}


def register_kind(name: str, label, *, email: bool = True, sms: bool = False) -> Kind:
    kind = Kind(name, label, email, sms)
    KINDS[name] = kind
    return kind


def default(kind: str, channel: str) -> bool:
    known = KINDS.get(kind)
    if known is None:
        return channel == "email"
    return known.email if channel == "email" else known.sms


for _name, _label, _email, _sms in [
    ("membership.approved", _l("Membership approved"), True, True),
    ("membership.rejected", _l("Membership not approved"), True, True),
    ("course.review", _l("A course waits for review"), True, False),
    ("course.revision", _l("A course change waits for review"), True, False),
    ("course.published", _l("Your course is published"), True, False),
    ("course.sent_back", _l("Your course was sent back"), True, False),
    ("course.changed", _l("A course of yours changed"), True, False),
    ("course.announcement", _l("Course announcements"), True, False),
    ("enrollment.promoted", _l("A seat from the waitlist"), True, True),
    ("enrollment.decided", _l("Sign-up decisions"), True, False),
    ("enrollment.removed", _l("Taken off a course's list"), True, False),
    ("course.revision.decided", _l("Decisions on your course changes"), True, False),
    ("attendance.checkin_open", _l("Check-in opened"), False, False),
    ("certificate.issued", _l("A certificate is issued to you"), True, False),
    ("certificate.revoked", _l("A certificate of yours is revoked"), True, False),
    ("skill_certificate.decided", _l("Decisions on your skill certificates"), True, False),
]:
    register_kind(_name, _label, email=_email, sms=_sms)

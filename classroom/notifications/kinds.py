"""The kinds of notification and the channels each uses by default. The shell's own are listed here;
features add theirs to the app's registry (``registry().add_kind``) in their ``init_app``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from classroom.registry import Kind, registry


def kinds() -> dict[str, Kind]:
    """Every kind of the current app: the shell's and the features'."""
    return registry().kinds


def default(kind: str, channel: str) -> bool:
    """Whether a kind's channel is on for someone who has not chosen (unknown kinds: email only)."""
    known = kinds().get(kind)
    if known is None:
        return channel == "email"
    return known.email if channel == "email" else known.sms


# (name, label, email on by default, text message on by default)
SHELL_KINDS = [
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
]

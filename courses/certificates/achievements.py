"""The Open Badges 3.0 Achievement of a certificate, one per kind, with a stable id that resolves:
``/verify/achievements/course-<course id>`` for a course completion, ``award-<event id>-<award key>`` for a
competition award (一等奖 of one 赛项), ``skill-<level>`` for a skill level. Every certificate of the same
achievement carries the same id; the public page describes it as the newest such certificate does.

The types come from OB 3.0's AchievementType vocabulary (1EdTech Open Badges 3.0, "AchievementType"):
CertificateOfCompletion "acknowledges completion of an assignment, training or other activity", Award
"represents an award", Certificate "designates requisite knowledge and skills of an occupation"."""

from __future__ import annotations

import re

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import column, select, table

from classroom.extensions import db
from courses.certificates.kinds import award_facts, kind_of
from courses.certificates.models import Certificate, CertificateKind, level_label

DOCUMENT_LOCALE = "zh_CN"  # like the PDF: the same achievement whoever downloads it
ACHIEVEMENT_TYPES: dict[str, str] = {CertificateKind.COURSE: "CertificateOfCompletion", CertificateKind.AWARD: "Award",
                     CertificateKind.SKILL: "Certificate"}
COURSE_CRITERIA = _l("Completed the course %(course)s (%(hours)s training hours) on Worker Classroom.")
AWARD_CRITERIA = _l("Won %(award)s in the event %(event)s of %(competition)s, by the results published by "
                    "%(organizer)s.")
SKILL_CRITERIA = _l("Reached the skill level %(level)s.")
# Certificates never import the competitions feature (it imports them): its entry table is read by name.
_ENTRY = table("competition_entry", column("id"), column("event_id"))
_SLUG = re.compile(r"(course)-(\d{1,9})|(award)-(\d{1,9})-([a-z_]{1,20})|(skill)-([1-5])"
                   r"|(certificate)-([A-Z0-9-]{1,32})")
MAX_AWARD_ROWS = 500  # the winners of one event: a handful, bounded all the same


def award_key(certificate: Certificate) -> str:
    """The award's code (first, second …), or "honor" for a title without a prize."""
    return str((certificate.snapshot or {}).get("award") or "honor")


def _event_id(certificate: Certificate) -> int | None:
    if certificate.competition_entry_id is None:
        return None
    return db.session.scalar(select(_ENTRY.c.event_id).where(_ENTRY.c.id == certificate.competition_entry_id))


def slug_of(certificate: Certificate) -> str:
    """The last part of the achievement's id; a certificate whose course or entry is gone keeps its own."""
    kind = kind_of(certificate)
    if kind == CertificateKind.AWARD:
        event_id = _event_id(certificate)
        if event_id is not None:
            return f"award-{event_id}-{award_key(certificate)}"
    elif kind == CertificateKind.SKILL and certificate.document.get("level"):
        return f"skill-{certificate.document['level']}"
    elif kind == CertificateKind.COURSE and certificate.course_id is not None:
        return f"course-{certificate.course_id}"
    return f"certificate-{certificate.serial}"


def achievement_for(certificate: Certificate, *, base_url: str) -> dict:
    """The Achievement (id, type, achievementType, name, description, criteria …) of one certificate."""
    kind = kind_of(certificate)
    with force_locale(DOCUMENT_LOCALE):
        name, narrative = _award_text(certificate) if kind == CertificateKind.AWARD else \
            _skill_text(certificate) if kind == CertificateKind.SKILL else _course_text(certificate)
    achievement: dict = {"id": f"{base_url}/verify/achievements/{slug_of(certificate)}", "type": ["Achievement"],
                         "achievementType": ACHIEVEMENT_TYPES.get(kind, "Achievement"), "name": name,
                         "description": narrative, "criteria": {"narrative": narrative}}
    minutes = certificate.document.get("minutes") or 0
    if kind == CertificateKind.COURSE and minutes > 0:  # only a course carries training hours
        achievement["creditsAvailable"] = float(certificate.document["hours"])
    with force_locale(DOCUMENT_LOCALE):
        level = level_label(certificate.document.get("level"))
    if level:
        achievement["tag"] = [level]
    return achievement


def _course_text(certificate: Certificate) -> tuple[str, str]:
    document = certificate.document
    return document["course"], str(COURSE_CRITERIA) % {"course": document["course"], "hours": document["hours"]}


def _award_text(certificate: Certificate) -> tuple[str, str]:
    facts = award_facts(certificate)
    award = facts.award or facts.honor_title or ""
    name = f"{facts.competition or ''}（{facts.event or ''}）{award}"
    return name, str(AWARD_CRITERIA) % {"award": award, "event": facts.event or "",
                                        "competition": facts.competition or "", "organizer": facts.organizer or ""}


def _skill_text(certificate: Certificate) -> tuple[str, str]:
    level = level_label(certificate.document.get("level"))
    occupation = certificate.document.get("occupation") or ""
    return f"{occupation} {level}".strip(), str(SKILL_CRITERIA) % {"level": level}


def certificate_for_slug(slug: str) -> Certificate | None:
    """The newest certificate whose achievement has this id (None for an id we never issued)."""
    match = _SLUG.fullmatch(slug or "")
    if match is None:
        return None
    newest = select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    if match[1]:
        return db.session.scalar(newest.where(Certificate.course_id == int(match[2]),
                                              Certificate.kind == CertificateKind.COURSE).limit(1))
    if match[3]:
        rows = db.session.scalars(newest.join(_ENTRY, _ENTRY.c.id == Certificate.competition_entry_id)
                                  .where(_ENTRY.c.event_id == int(match[4]), Certificate.kind == CertificateKind.AWARD)
                                  .limit(MAX_AWARD_ROWS))
        return next((row for row in rows if award_key(row) == match[5]), None)
    if match[6]:
        rows = db.session.scalars(newest.where(Certificate.kind == CertificateKind.SKILL).limit(MAX_AWARD_ROWS))
        return next((row for row in rows if str(row.document.get("level")) == match[7]), None)
    certificate = db.session.scalar(select(Certificate).where(Certificate.serial == match[9]))
    return certificate if certificate is not None and slug_of(certificate) == slug else None

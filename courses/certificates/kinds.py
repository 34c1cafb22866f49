"""What each kind of certificate says: its title (结业证书, 技能等级证书, 获奖证书), the line a list shows,
and the kind's own facts, read from the signed record as issued. An award record that lacks a fact
(an older one without the event, say) gets it from the rows it references, through ``award_facts_wanted``,
which the competitions feature answers: the signed record itself never changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from blinker import Namespace
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l

from courses.certificates.models import Certificate, CertificateKind

DOCUMENT_LOCALE = "zh_CN"  # the language of the certificate itself (the PDF, the JSON title)
KIND_TITLES: dict[str, LazyString] = {
    CertificateKind.COURSE: _l("Certificate of completion"),  # 结业证书
    CertificateKind.SKILL: _l("Skill-level certificate"),  # 技能等级证书
    CertificateKind.AWARD: _l("Award certificate"),  # 获奖证书
}
PLACE = _l("place %(rank)d")  # 第%(rank)d名

# sender: the award Certificate; a receiver returns {"competition", "event", "award", "honor_title", "rank",
# "team", "organizer", "edition"} as the rows it references hold them now (only facts the record lacks are used).
award_facts_wanted = Namespace().signal("award-facts-wanted")
AWARD_FIELDS = ("competition", "event", "award", "honor_title", "rank", "team", "organizer", "edition")


@dataclass(frozen=True)
class AwardFacts:
    """An award as issued: the competition, its event (赛项), the award text (一等奖) or rank, the title."""

    competition: str | None = None
    event: str | None = None
    award: str | None = None
    honor_title: str | None = None
    rank: int | None = None
    team: str | None = None
    organizer: str | None = None
    edition: str | None = None

    @property
    def won(self) -> str:
        """The award as issued (一等奖), else the place in the current language (第3名), else nothing."""
        return self.award or (str(PLACE) % {"rank": self.rank} if self.rank else "")

    @property
    def honours(self) -> str:
        """一等奖 · 全市技术能手 (what the entry won, as one line)."""
        return " · ".join(part for part in (self.won, self.honor_title) if part)


def kind_of(certificate: Certificate) -> str:
    """The certificate's kind (the column, else the signed record's, else a course completion)."""
    return certificate.kind or certificate.document.get("kind") or CertificateKind.COURSE


def kind_title(kind: str) -> str:
    """The title of a kind in the reader's language: Certificate of completion, Award certificate …"""
    return str(KIND_TITLES.get(kind, KIND_TITLES[CertificateKind.COURSE]))


def document_title(kind: str) -> str:
    """The title as printed on the certificate (its own language, whoever reads it)."""
    with force_locale(DOCUMENT_LOCALE):
        return kind_title(kind)


def award_facts(certificate: Certificate) -> AwardFacts:
    """The award's facts: the signed document first, then the snapshot kept at issue, then the rows."""
    document, snapshot = certificate.document, certificate.snapshot or {}
    facts = {"competition": document.get("competition") or snapshot.get("competition_title"),
             "event": document.get("event") or snapshot.get("event"),
             "award": document.get("award") or snapshot.get("award_text"),
             "honor_title": document.get("honor_title") or snapshot.get("honor_title"),
             "rank": document.get("rank") or snapshot.get("rank"),
             "team": document.get("team") or snapshot.get("team"),
             "organizer": document.get("issuer") or snapshot.get("issuer"),
             "edition": snapshot.get("edition")}
    if not all(facts[name] for name in ("competition", "event", "organizer")) or not (
            facts["award"] or facts["honor_title"] or facts["rank"]):
        for _receiver, found in award_facts_wanted.send(certificate):
            facts.update({name: found.get(name) for name in AWARD_FIELDS if not facts[name] and found.get(name)})
    return AwardFacts(**facts)


def headline(certificate: Certificate) -> str:
    """The line a list shows first: the course, or the competition and event of an award."""
    if kind_of(certificate) == CertificateKind.AWARD:
        facts = award_facts(certificate)
        return " · ".join(part for part in (facts.competition, facts.event) if part)
    return certificate.document.get("course") or ""


def public_fields(certificate: Certificate) -> dict:
    """The kind's facts for ?format=json, beside the signed record (which stays as it was signed)."""
    kind = kind_of(certificate)
    document = certificate.document
    fields: dict = {"kind": kind, "title": document_title(kind), "issuer": document.get("issuer"),
                    "issued_on": document.get("issued_on")}
    if kind == CertificateKind.AWARD:
        facts = asdict(award_facts(certificate))
        return {**fields, **{name: facts[name] for name in AWARD_FIELDS if name != "organizer"}}
    if kind == CertificateKind.SKILL:
        return {**fields, "level": document.get("level"), "occupation": document.get("occupation"),
                "expires_on": document.get("expires_on")}
    return {**fields, "course": document.get("course"), "hours": document.get("hours"),
            "level": document.get("level"), "expires_on": document.get("expires_on")}

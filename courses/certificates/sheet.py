"""A certificate as a page (its inline view, for phones that cannot open the PDF, such as WeChat's in-app
browser): the PDF's wording, in the PDF's language, and the same QR code to its verification page."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale

from courses.certificates.documents import document_date
from courses.certificates.kinds import award_facts, kind_of, kind_title
from courses.certificates.models import Certificate, CertificateKind
from courses.certificates.pdf import (
    DOCUMENT_LOCALE,
    LABELS,
    SALUTATION,
    SCAN_TO_VERIFY,
    SENTENCES,
    TEAM_SALUTATION,
    citation,
    rows,
)


@dataclass(frozen=True)
class Sheet:
    """What the certificate's PDF says, line by line."""

    issuer: str
    title: str
    salutation: str  # an award's "张三明：" (empty for the other kinds)
    sentence: str
    rows: list[tuple[str, str]]  # (label, value)
    signed: list[str]  # an award's organizer and date, bottom right
    serial: str
    scan_to_verify: str


def sheet(certificate: Certificate, *, base_url: str) -> Sheet:
    """The certificate's text as its PDF prints it (courses/certificates/pdf.py)."""
    document, snapshot = certificate.document, certificate.snapshot
    kind = kind_of(certificate)
    with force_locale(DOCUMENT_LOCALE):
        serial = f"{LABELS['serial']}：{certificate.serial}"
        common = {"issuer": document["issuer"], "title": str(kind_title(kind)), "serial": serial,
                  "scan_to_verify": f"{SCAN_TO_VERIFY} {base_url}/verify"}
        if kind == CertificateKind.AWARD:
            facts = award_facts(certificate)
            salutation = TEAM_SALUTATION if facts.team else SALUTATION
            return Sheet(salutation=str(salutation) % {"name": snapshot["holder_name"], "team": facts.team},
                         sentence=citation(facts), rows=[],
                         signed=[facts.organizer or document["issuer"],
                                 document_date(document["issued_on"], "long")], **common)
        return Sheet(salutation="", sentence=str(SENTENCES[kind]) % {"name": snapshot["holder_name"]},
                     rows=[(str(LABELS[name]), str(value)) for name, value in rows(document, snapshot, kind)],
                     signed=[], **common)

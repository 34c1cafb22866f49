"""Serial numbers people can type: ZGXT-2026-0001234-K.

The body (prefix, year, a per-year sequence) is followed by one check character from 0-9A-Z.
ISO 7064 MOD 37,36 was the first candidate, but as a hybrid system it misses a few adjacent
transpositions (e.g. "12" ↔ "21" after one of its 36 states). We use the equivalent Damm scheme
instead, over a totally anti-symmetric quasigroup of order 36 (the direct product of
x∘y = ωx + y over GF(4) and x∘y = 2x + y over Z/9): it catches every single-character substitution
and every adjacent transposition, the check character included.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from classroom.database import dialect_insert
from classroom.domain import Invalid
from classroom.extensions import db
from courses.certificates.models import CertificateCounter

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VALUE = {char: index for index, char in enumerate(ALPHABET)}
_OMEGA_TIMES = (0, 2, 3, 1)  # multiplication by ω in GF(4) = {0, 1, ω, ω+1} coded as 0, 1, 2, 3


def _combine(x: int, y: int) -> int:
    high_x, low_x = divmod(x, 9)
    high_y, low_y = divmod(y, 9)
    return 9 * (_OMEGA_TIMES[high_x] ^ high_y) + (2 * low_x + low_y) % 9


TABLE = tuple(tuple(_combine(x, y) for y in range(36)) for x in range(36))
SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−_.·]+")
SHAPE = re.compile(r"([A-Z]{2,8})(\d{4})(\d{7,9})([0-9A-Z])")
EXAMPLE = "ZGXT-2026-0001234-K"


class InvalidSerial(Invalid):
    message = _l("A certificate number looks like %(example)s: letters, the year, a 7-digit number and a "
                 "check character.")


class MistypedSerial(Invalid):
    message = _l("This number has a typing error: its check character does not match. Compare each character "
                 "with the certificate (0 and O, 1 and I, 8 and B are easily confused).")


def _interim(text: str) -> int:
    state = 0
    for char in text:
        state = TABLE[state][VALUE[char]]
    return state


def check_character(body: str) -> str:
    """The character that brings the body's interim back to 0."""
    row = TABLE[_interim(body)]
    return ALPHABET[row.index(0)]


def is_valid(compact: str) -> bool:
    """Body and check character, without separators, upper case."""
    return bool(compact) and all(char in VALUE for char in compact) and _interim(compact) == 0


def format_serial(prefix: str, year: int, seq: int) -> str:
    """The serial of one year's sequence number: PREFIX-YYYY-NNNNNNN-C, C its check character."""
    body = f"{prefix}{year:04d}{seq:07d}"
    return f"{prefix}-{year:04d}-{seq:07d}-{check_character(body)}"


def compact(text: str | None) -> str:
    """Full-width forms folded, upper case, spaces and dashes removed."""
    return SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "").upper())


def parse_serial(text: str | None) -> str:
    """The serial as stored (ZGXT-2026-0001234-K) from what a person typed, or a helpful error."""
    typed = compact(text)
    match = SHAPE.fullmatch(typed)
    if not match:
        raise InvalidSerial(field="serial", example=EXAMPLE)
    if not is_valid(typed):
        raise MistypedSerial(field="serial")
    prefix, year, seq, check = match.groups()
    return f"{prefix}-{year}-{seq}-{check}"


def allocate_seq(year: int) -> int:
    """The next number of the year: one atomic upsert, so concurrent issuers never share one. The
    counter row stays locked until the transaction ends; a rollback gives the number back."""
    insert = dialect_insert(db.session)
    statement = (
        insert(CertificateCounter).values(year=year, last_seq=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last_seq": CertificateCounter.last_seq + 1})
        .returning(CertificateCounter.last_seq)
    )
    return db.session.execute(statement).scalar_one()

"""Personal data: validation, masking, encryption at rest and keyed look-up hashes."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

from cryptography.fernet import Fernet
from flask import current_app

MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only: \d would take any script's
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def normalize_mobile(value: str | None) -> str:
    """Digits only, without a +86/86 prefix, as typed on a full-width keyboard too (NFKC):
    "+86 138-0013-8000" and "１３８００１３８０００" → "13800138000"."""
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
    return digits


def is_mobile(value: str) -> bool:
    """An 11-digit mainland mobile number."""
    return bool(MOBILE_RE.match(value or ""))


def normalize_identifier(value: str | None) -> str:
    """A log-in identifier as stored: a mobile number's digits, or an email in lower case."""
    value = unicodedata.normalize("NFKC", value or "").strip()
    if "@" in value:
        return value.lower()
    return normalize_mobile(value)


def normalize_id_card(value: str | None) -> str:
    """An ID card number as stored: NFKC (a full-width keyboard's "１１０…Ｘ"), stripped, upper case."""
    return unicodedata.normalize("NFKC", value or "").strip().upper()


def is_id_card(value: str) -> bool:
    """An 18-character resident ID number with a valid birth date and check character."""
    value = normalize_id_card(value)
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == value[17]


def mask_mobile(value: str | None) -> str:
    """13812345678 → 138****5678."""
    if not value:
        return ""
    return value[:3] + "****" + value[-4:] if len(value) >= 8 else "****"


def mask_name(value: str | None) -> str:
    """张三明 → 张*明, 张三 → 张*, Li Wei → L*i."""
    if not value:
        return ""
    value = value.strip()
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2 if len(value) <= 4 else 2) + value[-1]


def mask_id_card(value: str | None) -> str:
    """The first and last three characters of an ID card number."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 6) + value[-3:]


def _fernet() -> Fernet:
    return Fernet(current_app.config["FERNET_KEY"].encode())


def encrypt(value: str) -> bytes:
    """Fernet-encrypt a text with the app's FERNET_KEY."""
    return _fernet().encrypt(value.encode())


def decrypt(token: bytes) -> str:
    """The text ``encrypt`` encrypted."""
    return _fernet().decrypt(token).decode()


def lookup_hash(value: str) -> str:
    """A keyed hash (HMAC-SHA256) to find a record by a secret value without storing it."""
    key = current_app.config["LOOKUP_HASH_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

"""Ed25519 signatures over a canonical JSON, and the keys that make them.

The key pair comes from the setting CERTIFICATE_SIGNING_KEY (an Ed25519 PEM: generated into
instance/secrets.json in development, CLASSROOM_CERTIFICATE_SIGNING_KEY in production). Keys live
in the database too, the private half encrypted with FERNET_KEY, so that every key ever used stays
published; `flask certificates rotate-key` adds a new active key.
Every key, active or retired, is published at /verify/keys under its id (the RFC 7638 JWK
thumbprint), so signatures made before a rotation still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from classroom.extensions import db
from classroom.personal_data import decrypt, encrypt
from courses.certificates.models import SigningKey

ALGORITHM = "EdDSA"
CANONICALIZATION = "JCS (RFC 8785): keys sorted, no whitespace, UTF-8"


def canonical_json(data) -> bytes:
    """RFC 8785 for what we sign (strings, integers, null, lists and objects with ASCII keys)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE's encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(public_raw: bytes) -> str:
    """RFC 7638: SHA-256 over the JWK's required members in lexicographic order."""
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_raw)}
    return b64url(hashlib.sha256(canonical_json(jwk)).digest())


# ---- keys ------------------------------------------------------------------------------------------

def _private_from_pem(pem: bytes | str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the certificate signing key must be an Ed25519 private key")
    return key


def _new_key_row(private_key: Ed25519PrivateKey, now: datetime) -> SigningKey:
    raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    public = raw_public(private_key.public_key())
    return SigningKey(kid=thumbprint(public), public_key=public, private_key_encrypted=encrypt(b64url(raw)),
                      is_active=True, created_at=now)


def _configured_key() -> tuple[str, bytes] | None:
    """(key id, PEM) of the CERTIFICATE_SIGNING_KEY setting, or None when it is not set."""
    pem = current_app.config.get("CERTIFICATE_SIGNING_KEY")
    if not pem:
        return None
    pem = pem.encode() if isinstance(pem, str) else pem
    cache = current_app.extensions.setdefault("certificate_configured_key", {})
    if pem not in cache:
        cache[pem] = (thumbprint(raw_public(_private_from_pem(pem).public_key())), pem)
    return cache[pem]


def active_key(*, now: datetime) -> SigningKey:
    """The key that signs now. The key pair comes from the CERTIFICATE_SIGNING_KEY setting
    (generated into instance/ in development, required in production): the first time a
    database sees a configured key, it becomes the active key and the earlier ones stay published
    (so changing the setting rotates). `flask certificates rotate-key` rotates without touching
    the setting. Without a setting (tests) a key is generated on first use."""
    key = _active_row()
    configured = _configured_key()
    if key is not None and (configured is None or key.kid == configured[0] or key_by_kid(configured[0])):
        return key
    try:
        with db.session.begin_nested():
            return _activate(key, configured, now=now)
    except (IntegrityError, ValueError):  # another transaction made or rotated to it at the same moment: use theirs
        key = _active_row()
    if key is None:
        raise RuntimeError("no active certificate signing key")
    return key


def _active_row() -> SigningKey | None:
    return db.session.scalar(select(SigningKey).where(SigningKey.is_active.is_(True)))


def _activate(current: SigningKey | None, configured: tuple[str, bytes] | None, *, now: datetime) -> SigningKey:
    """The configured key (rotating to it from ``current``), or without a setting a generated first key."""
    if current is not None and configured is not None:
        return rotate_key(now=now, private_pem=configured[1])
    private_key = _private_from_pem(configured[1]) if configured else Ed25519PrivateKey.generate()
    key = _new_key_row(private_key, now)
    db.session.add(key)
    db.session.flush()
    return key


def rotate_key(*, now: datetime, private_pem: bytes | None = None) -> SigningKey:
    """Retire the active key (it stays published) and make a new one, generated or imported."""
    private_key = _private_from_pem(private_pem) if private_pem else Ed25519PrivateKey.generate()
    row = _new_key_row(private_key, now)
    if db.session.scalar(select(SigningKey.id).where(SigningKey.kid == row.kid)) is not None:
        raise ValueError("this key is already known")
    db.session.execute(update(SigningKey).where(SigningKey.is_active.is_(True))
                       .values(is_active=False, retired_at=now).execution_options(synchronize_session=False))
    db.session.add(row)
    db.session.flush()
    return row


def key_by_kid(kid: str | None) -> SigningKey | None:
    """The signing key of this id (None for no id, or one longer than any we make)."""
    if not kid or len(kid) > 64:
        return None
    return db.session.scalar(select(SigningKey).where(SigningKey.kid == kid))


def private_key_of(key: SigningKey) -> Ed25519PrivateKey:
    """The key's private half, decrypted once per process."""
    cache = current_app.extensions.setdefault("certificate_private_keys", {})
    if key.kid not in cache:
        cache[key.kid] = Ed25519PrivateKey.from_private_bytes(b64url_decode(decrypt(key.private_key_encrypted)))
    return cache[key.kid]


def public_key_of(key: SigningKey) -> Ed25519PublicKey:
    """The key's public half."""
    return Ed25519PublicKey.from_public_bytes(key.public_key)


def published_keys() -> list[dict]:
    """Every key as a JWK (with its PEM beside), newest first."""
    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.id.desc()))
    return [jwk_of(row) for row in rows]


def jwk_of(key: SigningKey) -> dict:
    """A key as a JWK, with its PEM and its dates beside."""
    pem = public_key_of(key).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(key.public_key), "kid": key.kid, "alg": ALGORITHM,
            "use": "sig", "pem": pem.decode("ascii"), "active": key.is_active,
            "created_at": key.created_at.isoformat(), "retired_at": key.retired_at.isoformat() if key.retired_at
            else None}


# ---- signatures ------------------------------------------------------------------------------------

def sign(key: SigningKey, data: dict) -> str:
    """The base64url Ed25519 signature of the data's canonical JSON."""
    return b64url(private_key_of(key).sign(canonical_json(data)))


def verify(public_key: Ed25519PublicKey, data: dict, signature: str) -> bool:
    """Whether the signature holds for the data's canonical JSON under this public key."""
    try:
        public_key.verify(b64url_decode(signature), canonical_json(data))
    except (InvalidSignature, ValueError):
        return False
    return True

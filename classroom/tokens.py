"""Secret tokens and codes: made here, stored only as hashes (their public links: classroom.http.public_url)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app


def new_token() -> tuple[str, str]:
    """A random URL-safe token and its SHA-256 hash (hex), which is all that is stored."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """The SHA-256 hash (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_code(digits: int = 6) -> str:
    """A random numeric code of ``digits`` digits (leading zeros kept)."""
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


def code_hash(user_id: int, code: str) -> str:
    """A keyed hash of a short code: without the secret key a stolen table cannot be brute-forced."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"reset:{user_id}:{code.strip()}".encode(), hashlib.sha256).hexdigest()


def same_secret(expected: str, given: str) -> bool:
    """A constant-time comparison of UTF-8 bytes: hmac.compare_digest raises TypeError on a str
    with non-ASCII characters (a code typed as "١٢٣٤٥٦"), so it never sees one."""
    return hmac.compare_digest(expected.encode(), given.encode())


def codes_match(user_id: int, code: str, stored: str | None) -> bool:
    """Whether ``code`` is the one whose keyed hash was stored for this person."""
    return stored is not None and same_secret(code_hash(user_id, code), stored)

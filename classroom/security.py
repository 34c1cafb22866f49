"""Response headers every page carries, and password hashing."""

from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, abort, current_app, request

CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none'; "
    "frame-src {frame_src}; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HOST_RE = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")


def embed_hosts(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """VIDEO_EMBED_HOSTS as a tuple of host names (a list, or a comma-separated string from the
    environment); anything but a plain host name is refused, so no setting can smuggle another
    directive into the policy."""
    hosts = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
    cleaned = tuple(str(host).strip().lower() for host in hosts if str(host).strip())
    for host in cleaned:
        if not HOST_RE.match(host):
            raise ValueError(f"VIDEO_EMBED_HOSTS: {host!r} is not a host name")
    return cleaned


def content_security_policy(hosts: str | Iterable[str] | None) -> str:
    """The policy for these video hosts: frames from this site and from the hosts (https only)."""
    frame_src = " ".join(["'self'", *(f"https://{host}" for host in embed_hosts(hosts))])
    return CSP_TEMPLATE.format(frame_src=frame_src)


def _csp() -> str:
    hosts = current_app.config.get("VIDEO_EMBED_HOSTS") or ()
    key = tuple(hosts) if not isinstance(hosts, str) else hosts
    cache = current_app.extensions.setdefault("csp", {})
    if key not in cache:
        cache[key] = content_security_policy(hosts)
    return cache[key]


def add_security_headers(response: Response) -> Response:
    """The headers every answer carries: the content security policy, no sniffing, no framing …"""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _csp())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _parameters() -> tuple[int, int, int]:
    config = current_app.config
    return config["PASSWORD_TIME_COST"], config["PASSWORD_MEMORY_COST"], config["PASSWORD_PARALLELISM"]


def _hasher() -> PasswordHasher:
    key = _parameters()
    cache = current_app.extensions.setdefault("password_hashers", {})
    if key not in cache:
        cache[key] = PasswordHasher(time_cost=key[0], memory_cost=key[1], parallelism=key[2])
    return cache[key]


def hash_password(password: str) -> str:
    """An Argon2id hash of the password, with the configured parameters."""
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time (one verification against a
    hash made with the same parameters) and fail."""
    hasher = _hasher()
    try:
        return hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than the configured ones."""
    return _hasher().check_needs_rehash(stored_hash)


def _dummy_hash() -> str:
    """A hash no password matches, made with the current parameters. It is made when the app
    starts (init_app), so even the first log-in with an unknown identifier hashes nothing more
    than a log-in with a wrong password does."""
    key = ("dummy", *_parameters())
    cache = current_app.extensions.setdefault("password_hashers", {})
    if key not in cache:
        cache[key] = hash_password("no account has this password")
    return cache[key]


def refuse_nul_bytes() -> None:
    """No person types a NUL character, and PostgreSQL text cannot hold one: a request carrying
    one anywhere (path, query, form field or its name, JSON) is a 400 before any view or query sees
    it, on every backend alike. (An upload's file name is the upload checks' to refuse, with a reason.)"""
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    texts = [request.path, *(part for pair in fields for part in pair)]
    if any("\x00" in text for text in texts) or (
            request.is_json and "\\u0000" in request.get_data(cache=True, as_text=True)):
        abort(400)


def init_app(app: Flask) -> None:
    """NUL characters refused, the policy checked and the dummy hash made at start-up, the headers."""
    app.before_request(refuse_nul_bytes)
    with app.app_context():
        content_security_policy(app.config.get("VIDEO_EMBED_HOSTS"))  # a bad host fails at start-up
        _dummy_hash()
    app.after_request(add_security_headers)

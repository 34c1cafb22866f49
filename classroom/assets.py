"""Static files under content-hashed names (``/static/<digest>/css/app.css``), kept by browsers for a year
without asking again, and every answer compressed (Flask-Compress: brotli where the browser takes it,
else gzip). Templates link static files only through ``asset_url()``; the digests are computed once when
the app starts (in debug mode on every link, so an edited file shows at once)."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import Path

from flask import Flask, Request, abort, current_app, redirect, request, url_for
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

ENDPOINT = "asset"
DIGEST_LENGTH = 10
IMMUTABLE = "public, max-age=31536000, immutable"
# An ETag we sent with a compressed body carries the encoding (Flask-Compress: "abc:br"); read back in
# If-Match (the API's optimistic concurrency) it names the same version of the resource.
ENCODED_ETAG = re.compile(r':(?:br|gzip|deflate|zstd)"')


def init_app(app: Flask) -> None:
    """The digests of the static files, their route and ``asset_url()``, and Flask-Compress's settings."""
    folder = Path(app.static_folder or "static")
    app.extensions["assets"] = {"folder": folder, "digests": digests(folder)}
    app.add_url_rule(f"{app.static_url_path}/<string(length={DIGEST_LENGTH}):digest>/<path:filename>",
                     ENDPOINT, serve)
    app.jinja_env.globals["asset_url"] = asset_url
    app.config.setdefault("COMPRESS_CACHE_BACKEND", CompressedAssets)
    app.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    app.before_request(_plain_if_match)


def digest_of(path: Path) -> str:
    """The first characters of the file's SHA-256: its name changes whenever its content does."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LENGTH]


def digests(folder: Path) -> dict[str, str]:
    """{path relative to the static folder: digest} for every file in it."""
    return {path.relative_to(folder).as_posix(): digest_of(path) for path in sorted(folder.rglob("*"))
            if path.is_file()}


def _digest(filename: str) -> str | None:
    assets = current_app.extensions["assets"]
    if current_app.debug or filename not in assets["digests"]:  # edited or added since the start
        path = safe_join(str(assets["folder"]), filename)
        return digest_of(Path(path)) if path and Path(path).is_file() else None
    return assets["digests"][filename]


def asset_url(filename: str) -> str:
    """The URL of a static file under its content's digest (a missing file is a mistake: it raises)."""
    digest = _digest(filename)
    if digest is None:
        raise LookupError(f"no static file {filename!r}")
    return url_for(ENDPOINT, digest=digest, filename=filename)


def version() -> str:
    """One digest of all the static files: it changes when any of them does."""
    listed = "".join(f"{name}={digest}\n" for name, digest in current_app.extensions["assets"]["digests"].items())
    return hashlib.sha256(listed.encode()).hexdigest()[:DIGEST_LENGTH]


def serve(digest: str, filename: str) -> Response:
    """A static file whose digest is current, cached for a year; an older digest is sent to the current one."""
    current = _digest(filename)
    if current is None:
        abort(404)
    if digest != current:  # a page from before the file changed
        response = redirect(url_for(ENDPOINT, digest=current, filename=filename))
        response.cache_control.no_cache = True
        return response
    path = Path(safe_join(str(current_app.extensions["assets"]["folder"]), filename) or "")
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # The body in memory, not streamed, so that Flask-Compress compresses it once (CompressedAssets).
    response = current_app.response_class(path.read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache" if current_app.debug else IMMUTABLE
    return response


def _serving_a_current_asset() -> bool:
    return request.endpoint == ENDPOINT and not current_app.debug and (
        _digest((request.view_args or {}).get("filename", "")) == (request.view_args or {}).get("digest"))


class CompressedAssets:
    """Flask-Compress's cache, which keeps only hashed static files compressed (a name always holds the
    same bytes): pages and other answers are compressed afresh, and nothing else is kept."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        """The compressed body of an asset compressed before."""
        return self.data.get(key) if _serving_a_current_asset() else None

    def set(self, key: str, value: bytes) -> None:
        """Keep an asset's compressed body (anything else is dropped)."""
        if _serving_a_current_asset():
            self.data[key] = value


def _cache_key(request: Request) -> str:
    return request.path


def _plain_if_match() -> None:
    value = request.environ.get("HTTP_IF_MATCH")
    if value and ENCODED_ETAG.search(value):
        request.environ["HTTP_IF_MATCH"] = ENCODED_ETAG.sub('"', value)
        request.__dict__.pop("if_match", None)  # (a cached property, should anything have read it already)

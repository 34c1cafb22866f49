"""Where uploads and generated files live: one interface, two backends (CLASSROOM_STORAGE_BACKEND).

- ``local`` (the default): a directory, UPLOAD_FOLDER (development, one host, or a directory every host
  mounts).
- ``s3``: an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Aliyun OSS in S3 mode) through boto3: every
  host reads what any host wrote. Credentials come the way boto3 reads them (AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY, an instance role); STORAGE_S3_BUCKET, STORAGE_S3_ENDPOINT_URL (non-AWS servers),
  STORAGE_S3_REGION and STORAGE_S3_PREFIX say where.

Files are named by keys ("imports/3f…e1.csv", "9a…04.pdf"): relative paths, never absolute or with "..".
A private download is authorised by the view (its scope checks), then ``download`` answers it: the local
backend streams the file; the S3 backend redirects to a signed URL that lives STORAGE_URL_SECONDS (60 s),
so the bytes never pass through Python. Public assets (static/) never come here: nginx serves them.
Parsers that need a file on disk (the import readers, zip checks) use ``local_copy``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol
from urllib.parse import quote

from flask import Flask, current_app, redirect, send_file
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

EXTENSION = "classroom.storage"


def check_key(key: str) -> str:
    """A key as stored: a relative path without '..', '.' or empty parts; ValueError otherwise."""
    parts = key.split("/")
    if "\\" in key or "\x00" in key or any(part in ("..", ".", "") for part in parts):
        raise ValueError(f"not a storage key: {key!r}")
    return "/".join(parts)


def content_disposition(filename: str) -> str:
    """An attachment header any browser reads, for any name (RFC 6266: an ASCII fallback and UTF-8)."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class Storage(Protocol):
    def put_file(self, key: str, path: str | Path) -> None:
        """Store the local file at ``path`` under ``key`` (the local file is moved or removed)."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> IO[bytes]:
        """The stored bytes as a stream (FileNotFoundError when absent)."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the file; an absent one is no error."""

    def local_copy(self, key: str) -> Any:
        """A context manager giving a path on this host's disk holding the file."""

    def download(self, key: str, filename: str, mimetype: str | None = None) -> Response:
        """The answer to an authorised request for the file, as an attachment named ``filename``."""


class LocalStorage:
    """Files in a directory (None: the current app's UPLOAD_FOLDER, read at each call)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.fixed_root = Path(root) if root is not None else None

    @property
    def root(self) -> Path:
        return self.fixed_root or Path(current_app.config["UPLOAD_FOLDER"])

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: str | Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".part-{target.name}")
        partial.write_bytes(data)
        os.replace(partial, target)  # readers never see half a file

    def open(self, key: str) -> IO[bytes]:
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def download(self, key: str, filename: str, mimetype: str | None = None) -> Response:
        path = self.path(key)
        if not path.is_file():
            raise NotFound()
        response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=filename, conditional=True)
        response.cache_control.private = True
        return response


class S3Storage:
    """Objects in an S3-compatible bucket, under an optional prefix."""

    def __init__(self, bucket: str, *, prefix: str = "", client: Any = None, url_seconds: int = 60,
                 endpoint_url: str | None = None, region: str | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.client, self.bucket, self.url_seconds = client, bucket, url_seconds
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put_file(self, key: str, path: str | Path) -> None:
        with open(path, "rb") as handle:
            self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=handle)
        os.remove(path)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data)

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        folder = Path(tempfile.mkdtemp(prefix="classroom-s3-"))
        try:
            path = folder / PurePosixPath(key).name
            with self.open(key) as body, path.open("wb") as handle:
                shutil.copyfileobj(body, handle)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def download(self, key: str, filename: str, mimetype: str | None = None) -> Response:
        params = {"Bucket": self.bucket, "Key": self.object_key(key),
                  "ResponseContentDisposition": content_disposition(filename)}
        if mimetype:
            params["ResponseContentType"] = mimetype
        url = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.url_seconds)
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "no-store"  # the signed URL is this person's, for a minute
        return response


def build(config: Any) -> Storage:
    """The backend the settings name."""
    if config.get("STORAGE_BACKEND", "local") == "s3":
        return S3Storage(config["STORAGE_S3_BUCKET"], prefix=config.get("STORAGE_S3_PREFIX") or "",
                         url_seconds=int(config.get("STORAGE_URL_SECONDS", 60)),
                         endpoint_url=config.get("STORAGE_S3_ENDPOINT_URL"), region=config.get("STORAGE_S3_REGION"))
    return LocalStorage()


def storage(app: Flask | None = None) -> Storage:
    """The app's storage."""
    return (app or current_app).extensions[EXTENSION]


def key_of(path: str | os.PathLike) -> str:
    """The key of a path under UPLOAD_FOLDER (where uploads are received before they are stored)."""
    return check_key(os.path.relpath(path, current_app.config["UPLOAD_FOLDER"]).replace(os.sep, "/"))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = build(app.config)

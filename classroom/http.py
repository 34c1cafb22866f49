"""Small request helpers shared by the views."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, has_request_context, request
from flask_login import current_user, login_required
from flask_sqlalchemy.pagination import SelectPagination

from classroom.domain import DomainError
from classroom.extensions import db
from config import ConfigurationError

log = logging.getLogger(__name__)
T = TypeVar("T")
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"  # `make run`'s default address, for jobs when nothing is set


def public_base_url() -> str:
    """The site's root for absolute links, without a trailing slash: PUBLIC_BASE_URL when set (always in
    production), else the current request's own root (ProxyFix applied), else the development default."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    if current_app.config.get("ENV_NAME") == "production":  # finish() refuses this; never guess there
        raise ConfigurationError("Production needs these settings: CLASSROOM_PUBLIC_BASE_URL")
    if not current_app.extensions.get("public_base_url_warned"):
        current_app.extensions["public_base_url_warned"] = True
        log.warning("CLASSROOM_PUBLIC_BASE_URL is not set: links made outside a request use %s",
                    DEVELOPMENT_BASE_URL)
    return DEVELOPMENT_BASE_URL


def public_url(target: str, **values) -> str:
    """An absolute link for documents, QR codes, feeds and messages, inside a request or outside one (a job,
    a command): ``target`` is a path ("/verify") or an endpoint built with ``values``."""
    if target.startswith("/"):
        return public_base_url() + target
    return public_base_url() + current_app.url_map.bind("localhost", script_name="/").build(target, values)


def owned_or_404(model, object_id: int, **owners):
    """The row ``object_id`` of ``model`` when its columns hold ``owners`` (e.g. ``course_id=course.id``):
    an id of another parent's row answers 404 like an id that does not exist."""
    row = db.session.get(model, object_id)
    if row is None or any(getattr(row, name) != value for name, value in owners.items()):
        abort(404)
    return row


def safe_next(default: str = "/") -> str:
    """The ?next= target when it stays on this site, else ``default``."""
    target = request.args.get("next") or request.form.get("next") or ""
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "http://[": not a URL at all
        return default
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc \
            and "\\" not in target:
        return target
    return default


def role_required(check):
    """Allow the view only when ``check(current_user)`` holds; otherwise 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


MAX_PAGE = 10**6  # beyond any list: a larger ?page= is an empty last page, not an overflow


def page_number() -> int:
    try:
        return min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        return 1


class RowPagination(SelectPagination):
    """Pages of rows (tuples) for a SELECT of several entities or columns."""

    def _query_items(self) -> list:
        statement = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(statement).all())


def paginate(statement, per_page: int | None = None, *, rows: bool = False):
    """A page of the statement's results (objects, or row tuples with ``rows=True``),
    numbered from the query string's ?page=."""
    size = per_page or current_app.config["PAGE_SIZE"]
    if rows:
        return RowPagination(select=statement, session=db.session(), page=page_number(), per_page=size,
                             max_per_page=100, error_out=False, count=True)
    return db.paginate(statement, page=page_number(), per_page=size, max_per_page=100, error_out=False)


def form_error(form, error, default: str | None = None) -> None:
    """Show a service's DomainError next to its field (or ``default``), else as a flash."""
    name = error.field if error.field in form else default
    if name in form:
        form[name].errors = [*form[name].errors, str(error)]
    else:
        flash(str(error), "danger")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What ``perform`` did: the service's result, or the domain error it refused with."""

    value: T | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def perform(action: Callable[[], T], *, success: str | Callable[[T], str] | None = None, form=None,
            field: str | None = None, category: str = "danger", keep: bool = False) -> Outcome[T]:
    """The one door from a page to a service: run ``action`` in the request's transaction and commit,
    flashing ``success`` (a text, or a function of the result); on a DomainError roll back and show it
    next to ``form``'s field (the error's own, else ``field``) or as a flash of ``category``.
    Services never commit or roll back: this does, once, for the whole change. ``keep``: the objects the
    request loaded stay as they are after the commit (a page that shows what it just wrote and read, without
    reading each again)."""
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        if form is not None:
            form_error(form, error, default=field)
        else:
            flash(str(error), category)
        return Outcome(error=error)
    _commit(keep)
    if success is not None:
        flash(success(value) if callable(success) else success, "success")
    return Outcome(value=value)


def _commit(keep: bool) -> None:
    session = db.session()
    session.expire_on_commit = not keep
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def commit_or_flash(action: Callable[[], object], success: str, *, failure_category: str = "danger") -> bool:
    """``perform`` with a flash either way; True when it committed (views move to ``perform``)."""
    return perform(action, success=success, category=failure_category).ok


def perform_quietly(action: Callable[[], T]) -> Outcome[T]:
    """``perform`` that shows nothing: commit, or roll back and hand the refusal to the caller, which
    answers in its own way (JSON, a message of its own, a refusal shown more gently than others)."""
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        return Outcome(error=error)
    db.session.commit()
    return Outcome(value=value)

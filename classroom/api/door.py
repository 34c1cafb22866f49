"""The API's one door to the services, and the transactions it owns (the JSON counterpart of
``classroom.http.perform``): ``run`` commits a service's change or turns its DomainError into a problem;
``authenticate`` finds the caller (and audits a key's use); ``idempotent`` honours Idempotency-Key.
Services never commit: this module does, for the API."""

from __future__ import annotations

import string
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import Response, current_app, g, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from classroom.api import idempotency
from classroom.api.keys import KEY_PREFIX, key_by_secret, record_use
from classroom.api.principal import PRINCIPAL, Principal, bearer_secret, current_principal
from classroom.api.problems import Problem, domain_problem, problem_response
from classroom.api.tokens import caller, touch_device
from classroom.audit import record_event
from classroom.database import begin_write, utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.unions.models import TradeUnion

T = TypeVar("T")
M = TypeVar("M")
DEFER_COMMIT = "api_defer_commit"  # on ``g``: an idempotent request commits its change with its answer
POLL_SECONDS = 0.05
KEY_CHARACTERS = frozenset(string.printable) - frozenset(string.whitespace)  # visible ASCII


def run(action: Callable[[], T]) -> T:
    """Run a service's change in the request's transaction and commit it; a DomainError rolls back and
    answers its problem (``domain_problem``: the one mapping)."""
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        raise domain_problem(error) from error
    if not db.session.registry.has():  # the change committed itself (database.write_alone): no session was made
        return value
    if g.get(DEFER_COMMIT):
        db.session.flush()
    else:
        db.session.commit()
    return value


def authenticate(*, scope: str | None = None, person: bool = False) -> Principal:
    """The caller named by the Authorization header, checked for ``scope`` (keys) or for being a person's
    token; 401 without valid credentials, 403 without the right."""
    secret = bearer_secret()
    if secret is None:
        raise Problem("unauthorized")
    principal = _key_caller(secret) if secret.startswith(KEY_PREFIX) else _token_caller(secret)
    if person and principal.person is None:
        raise Problem("person-required")
    if scope is not None and not principal.allows(scope):
        raise Problem("insufficient-scope", scope=scope,
                      headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
    setattr(g, PRINCIPAL, principal)
    return principal


def _key_caller(secret: str) -> Principal:
    begin_write(db.session)  # every use is audited: on SQLite the write lock comes first
    key = key_by_secret(secret)
    if key is None:
        raise Problem("invalid-token")
    record_use(key, method=request.method, path=request.path, now=utcnow())
    db.session.commit()
    return Principal(key=key)


def _token_caller(secret: str) -> Principal:
    now = utcnow()
    found = caller(secret, now=now)
    if found is None:
        raise Problem("invalid-token")
    if found.touch_due:
        begin_write(db.session)  # (the read ends: on SQLite the write takes the lock first)
        touch_device(found.device_id, now=now)
        db.session.commit()
    return Principal(person=found.person, device_id=found.device_id)


def reachable_union(union_id: int) -> TradeUnion:
    """The union a URL names when the caller reaches it (in a key's subtree, or administered by the person);
    else a 404 like a union that does not exist, and the attempt is audited."""
    union = db.session.get(TradeUnion, union_id)
    if union is None or not current_principal().reaches(union):
        deny("TradeUnion", union_id)
    return union


def owned(model: type[M], object_id: int, **owners: Any) -> M:
    """The row ``object_id`` of ``model`` when its columns hold ``owners`` (``user_id=person.id``: the caller's
    own); else ``deny`` (an audited 404, like an id that does not exist)."""
    row = db.session.get(model, object_id)
    if row is None or any(getattr(row, name) != value for name, value in owners.items()):
        deny(model.__name__, object_id)
    return row


def deny(object_type: str, object_id: int) -> NoReturn:
    """Audit an attempt to reach an object outside the caller's scope, then answer 404."""
    principal = current_principal()
    db.session.rollback()
    begin_write(db.session)
    record_event(principal.user, "scope.denied", object_type=object_type, object_id=object_id,
                 key_id=principal.key.id if principal.key is not None else None)
    db.session.commit()
    raise Problem("not-found")


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour ``Idempotency-Key`` on a POST that creates (below ``auth``): the first request with a key
    runs and its answer is stored with its change; a repeat gets that answer (status and body), waiting
    for it while the first still runs; the same key with another request is a 422."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 0 < len(key) <= 200 or not set(key) <= KEY_CHARACTERS:
            raise Problem("invalid-idempotency-key")
        held = _claim_or_replay(current_principal().owner, key, idempotency.fingerprint())
        if isinstance(held, Response):
            return held
        return _answer_once(held, view, args, kwargs)

    wrapper._apidoc = dict(getattr(wrapper, "_apidoc", {}), idempotent=True)  # type: ignore[attr-defined]  # doc info
    return wrapper


def _claim_or_replay(owner: str, key: str, print_: str) -> int | Response:
    deadline = time.monotonic() + current_app.config["API_IDEMPOTENCY_WAIT_SECONDS"]
    while True:
        try:
            record_id = idempotency.claim(owner, key, print_, now=utcnow())
            db.session.commit()
            return record_id
        except IntegrityError:
            db.session.rollback()
        answer = idempotency.answer_of(owner, key, now=utcnow())
        db.session.rollback()  # ends this look: the next sees the latest commit, and the connection is free
        if answer is not None and answer.fingerprint != print_:
            raise Problem("idempotency-key-reused")
        if answer is not None and answer.status_code is not None:
            return idempotency.replay(answer)
        if time.monotonic() > deadline:
            raise Problem("request-in-progress")
        time.sleep(POLL_SECONDS)


def _answer_once(record_id: int, view: Callable[..., Any], args: tuple, kwargs: dict) -> Response:
    g.setdefault(DEFER_COMMIT, True)
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except HTTPException as error:
        db.session.rollback()  # nothing of a refused request is kept but its answer
        response = problem_response(error)
    except Exception:
        _release(record_id)
        raise
    finally:
        g.pop(DEFER_COMMIT, None)
    if response.status_code >= 500:
        _release(record_id)
        return response
    idempotency.store_answer(record_id, response)
    db.session.commit()
    return response


def _release(record_id: int) -> None:
    db.session.rollback()
    idempotency.release(record_id)
    db.session.commit()

"""Who is calling the API: a worker through a device's access token, or a partner system through a key."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from classroom.accounts.auth_cache import Person
from classroom.accounts.models import User
from classroom.api.models import ApiKey
from classroom.unions.models import TradeUnion
from classroom.unions.scope import can_manage_union

PRINCIPAL = "api_principal"  # on ``g``


@dataclass(frozen=True)
class Principal:
    """The caller: a person (a worker's token, acting as that person: ``person_id``, and ``user``, their row
    in the request's session, when first read) or ``key`` (a partner's key, bound to its union subtree and
    scopes)."""

    person: Person | None = None
    key: ApiKey | None = None
    device_id: int | None = None

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person is not None else None

    @property
    def user(self) -> User | None:
        return self.person.row if self.person is not None else None

    @property
    def owner(self) -> str:
        """A stable name of the caller (e.g. for its Idempotency-Keys)."""
        return f"user:{self.person.id}" if self.person is not None else f"key:{self.key.id if self.key else 0}"

    def allows(self, scope: str) -> bool:
        """A key needs the scope; a person acts as themselves (each endpoint checks their rights)."""
        return self.key is None or scope in self.key.scopes

    def reaches(self, union: TradeUnion) -> bool:
        """Whether the union lies in the key's subtree, or the person administers it."""
        if self.key is not None:
            return union.path.startswith(self.key.union.path)
        return self.user is not None and can_manage_union(self.user, union)

    @property
    def union_path(self) -> str | None:
        """The path of a key's union (None for a person)."""
        return self.key.union.path if self.key is not None else None


def current_principal() -> Principal:
    """The caller of this request (an endpoint guarded by ``ApiBlueprint.auth``)."""
    principal = g.get(PRINCIPAL)
    if principal is None:
        raise RuntimeError(f"{request.endpoint} reads the caller without ApiBlueprint.auth")
    return principal


def current_person() -> User:
    """The worker calling (an endpoint guarded with ``auth(person=True)``)."""
    user = current_principal().user
    if user is None:
        raise RuntimeError(f"{request.endpoint} reads a person without auth(person=True)")
    return user


def current_person_id() -> int:
    """The id of the worker calling (``auth(person=True)``), without bringing their row into the session."""
    person_id = current_principal().person_id
    if person_id is None:
        raise RuntimeError(f"{request.endpoint} reads a person without auth(person=True)")
    return person_id


def bearer_secret() -> str | None:
    """The token or key of the Authorization header (``Bearer <secret>``); never from the address."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret and len(secret) <= 200 else None

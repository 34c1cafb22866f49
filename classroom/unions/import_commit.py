"""Writing a validated member import: all rows in the caller's one transaction, in bulk."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from psycopg.types.json import Json
from sqlalchemy import Table, bindparam, case, func, insert, select, text, update

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write, is_postgresql
from classroom.domain import Conflict
from classroom.extensions import Model, db
from classroom.registry import Kind
from classroom.unions.import_files import ImportRow
from classroom.unions.invitations import create_invitations
from classroom.unions.member_import import CHUNK, Action, ImportRejected, Plan, Progress, validate
from classroom.unions.models import Membership, MembershipStatus, TradeUnion

TABLES = Model.metadata.tables
USERS, MEMBERSHIPS, UNIONS = (TABLES[model.__tablename__] for model in (User, Membership, TradeUnion))
WELCOME = Kind("member_import.welcome", _l("Welcome after a member import"), email=False, sms=False)  # unions.init_app


@dataclass
class ImportResult:
    total: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    tokens: dict[int, str] = field(default_factory=dict)  # user id → raw invitation token
    seconds: float = 0.0

    @property
    def invited(self) -> int:
        """How many people got an invitation."""
        return len(self.tokens)


def run_import(rows: list[ImportRow], scope: TradeUnion, *, actor: Any, now: datetime, job_id: int | None = None,
               progress: Progress | None = None) -> ImportResult:
    """Re-validate and write every row in the caller's transaction (the caller commits);
    ImportRejected, with every row's errors, when any row is wrong: then nothing is written."""
    started = time.perf_counter()
    begin_write(db.session)
    plan = validate(rows, scope, now=now, progress=progress)
    if plan.errors:
        raise ImportRejected(plan.errors)
    result = apply_plan(plan, scope, actor_id=getattr(actor, "id", None), now=now, progress=progress)
    record_event(actor, "member_import.commit", union_id=scope.id, object_type="ImportJob" if job_id else None,
                 object_id=job_id, rows=result.total, created=result.created, updated=result.updated,
                 unchanged=result.unchanged, invited=result.invited, via="web" if job_id else "cli")
    result.seconds = time.perf_counter() - started
    return result


def apply_plan(plan: Plan, scope: TradeUnion, *, actor_id: int | None, now: datetime,
               progress: Progress | None = None) -> ImportResult:
    """Write a plan without errors: people, memberships with their numbers, invitations, chunk by chunk."""
    result = ImportResult(plan.total, created=plan.count("create"), updated=plan.count("update"),
                          unchanged=plan.count("unchanged"))
    days = current_app.config["INVITATION_DAYS"]
    done = 0
    for start in range(0, len(plan.actions), CHUNK):
        chunk = [action for action in plan.actions[start:start + CHUNK] if action.kind != "unchanged"]
        if chunk:
            _close_transfers(chunk, now=now)
            _update_profiles(chunk)
            _insert_people(chunk, now=now)
            _write_memberships(chunk, actor_id=actor_id, now=now)
            invitees = [action.user_id for action in chunk if action.invite and action.user_id is not None]
            result.tokens |= create_invitations(invitees, created_by_id=actor_id, now=now, days=days,
                                                write=bulk_insert)
        done += min(CHUNK, len(plan.actions) - start)
        if progress:
            progress("writing", done, plan.total)
    return result


def _close_transfers(chunk: list[Action], *, now: datetime) -> None:
    ids = [action.transfer_id for action in chunk if action.transfer_id]
    if ids:
        db.session.execute(update(MEMBERSHIPS).where(MEMBERSHIPS.c.id.in_(ids),
                                                     MEMBERSHIPS.c.status == MembershipStatus.ACTIVE)
                           .values(status=MembershipStatus.TRANSFERRED, ended_at=now))
    # A lapsed membership closes too when its person becomes a member again (as on approval):
    # it would keep them in the old union's scope.
    joining = [action.user_id for action in chunk if action.user_id and action.membership in ("new", "activate")]
    if joining:
        db.session.execute(update(MEMBERSHIPS).where(MEMBERSHIPS.c.user_id.in_(joining),
                                                     MEMBERSHIPS.c.status == MembershipStatus.LAPSED)
                           .values(status=MembershipStatus.TRANSFERRED))


def _update_profiles(chunk: list[Action]) -> None:
    """One executemany per set of changed columns."""
    groups: dict[frozenset, list[dict[str, Any]]] = {}
    for action in chunk:
        if action.user_id is not None and action.changes:
            params = {"uid": action.user_id, **{f"v_{name}": value for name, value in action.changes.items()}}
            groups.setdefault(frozenset(action.changes), []).append(params)
    for names, rows in groups.items():
        statement = (update(USERS).where(USERS.c.id == bindparam("uid"))
                     .values({name: bindparam(f"v_{name}") for name in sorted(names)})
                     .execution_options(auth_users=tuple(row["uid"] for row in rows)))  # whose records change
        db.session.execute(statement, rows)


def _insert_people(chunk: list[Action], *, now: datetime) -> None:
    new = [action for action in chunk if action.user_id is None]
    if not new:
        return
    config = current_app.config
    rows = [{**action.values, "mobile": action.mobile, "created_at": now, "locale": config["BABEL_DEFAULT_LOCALE"],
             "timezone": config["DEFAULT_TIMEZONE"], "notification_prefs": {}, "is_active": True} for action in new]
    if is_postgresql(db.session):  # ids from the sequence, then one COPY
        ids = db.session.execute(text("SELECT nextval(pg_get_serial_sequence('\"user\"', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars().all()
        for row, user_id in zip(rows, ids, strict=True):
            row["id"] = user_id
        bulk_insert(USERS, rows)
    else:
        inserted = db.session.execute(insert(USERS).returning(USERS.c.id, USERS.c.mobile), rows).all()
        by_mobile = {mobile: user_id for user_id, mobile in inserted}
        for row in rows:
            row["id"] = by_mobile[row["mobile"]]
    for action, row in zip(new, rows, strict=True):
        action.user_id = row["id"]
        action.membership, action.invite = "new", True


def bulk_insert(table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows (dicts with every column that needs a value) in one COPY on PostgreSQL, one executemany
    elsewhere; inside the session's transaction."""
    if not rows:
        return
    if not is_postgresql(db.session):
        db.session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{column}"' for column in columns)
    connection: Any = db.session.connection().connection.dbapi_connection  # psycopg's, with COPY
    with connection.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Json(value) if isinstance(value, dict) else value for value in row.values()])


def _write_memberships(chunk: list[Action], *, actor_id: int | None, now: datetime) -> None:
    """Active memberships with member numbers: one block of numbers per union, one statement."""
    needs = [action for action in chunk if action.membership]
    if not needs:
        return
    blocks = _allocate_numbers(Counter(action.union_id for action in needs))
    numbers: dict[int, str] = {}
    for action in needs:
        code, seq = blocks[action.union_id]
        numbers[action.row] = f"{code}-{seq:06d}"
        blocks[action.union_id] = (code, seq + 1)
    decided = {"decided_at": now, "decided_by_id": actor_id, "started_at": now}
    activations = [(action.activate_id, numbers[action.row]) for action in needs
                   if action.membership == "activate" and action.activate_id is not None]
    if activations:
        db.session.execute(
            update(MEMBERSHIPS).where(MEMBERSHIPS.c.id == bindparam("mid"),
                                      MEMBERSHIPS.c.status == MembershipStatus.APPLIED)
            .values(status=MembershipStatus.ACTIVE, member_no=bindparam("v_member_no"), **decided),
            [{"mid": membership_id, "v_member_no": number} for membership_id, number in activations])
        _check_activated([membership_id for membership_id, _number in activations])
    created = [{"user_id": action.user_id, "union_id": action.union_id, "status": MembershipStatus.ACTIVE,
                "member_no": numbers[action.row], "applied_at": now, **decided}
               for action in needs if action.membership == "new"]
    bulk_insert(MEMBERSHIPS, created)


def _allocate_numbers(counts: Counter) -> dict[int, tuple[str, int]]:
    """Take a block of member numbers per union in one UPDATE … RETURNING (the union rows stay
    locked until commit, so a concurrent approval waits); returns {union id: (code, first)}."""
    rows = db.session.execute(
        update(UNIONS).where(UNIONS.c.id.in_(list(counts)))
        .values(member_seq=UNIONS.c.member_seq + case(dict(counts), value=UNIONS.c.id))
        .returning(UNIONS.c.id, UNIONS.c.code, UNIONS.c.member_seq)
    ).all()
    return {union_id: (code, last - counts[union_id] + 1) for union_id, code, last in rows}


def _check_activated(ids: list[int]) -> None:
    activated = db.session.scalar(select(func.count()).select_from(MEMBERSHIPS).where(
        MEMBERSHIPS.c.id.in_(ids), MEMBERSHIPS.c.status == MembershipStatus.ACTIVE))
    if activated != len(ids):
        raise Conflict(_l("An application in the file was decided meanwhile: run the import again."))

"""Command-line tools: flask seed-demo, seed-scale, create-admin, members import."""

from __future__ import annotations

import contextlib
import copy
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from classroom import seed
from classroom.accounts.models import Role, RoleGrant, User
from classroom.accounts.services import check_password_rules
from classroom.database import begin_write, utcnow
from classroom.domain import DomainError
from classroom.exports import csv_bytes
from classroom.extensions import db
from classroom.http import public_url
from classroom.personal_data import is_mobile, normalize_mobile
from classroom.registry import registry
from classroom.security import hash_password
from classroom.seed_scale import seed_scale
from classroom.unions import counter_checks, history
from classroom.unions.import_commit import ImportResult, run_import
from classroom.unions.import_files import ImportRow, file_format, read_rows
from classroom.unions.invitations import invitation_link
from classroom.unions.jobs import welcome
from classroom.unions.member_import import ImportRejected, RowError, validate
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.tree import create_union


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
@click.option("--workers", default=320, show_default=True, help="How many workers to create.")
def seed_demo_command(if_empty: bool, workers: int) -> None:
    """Load demo data (a union tree, workers, instructors, admins) and print the log-ins."""
    if seed.database_is_empty():
        logins = seed.seed_demo(workers=workers)
        db.session.commit()
        click.echo(f"Demo data loaded: {workers} workers.")
    elif if_empty:
        click.echo("The database already has data; demo data not loaded again.")
        logins = seed.staff_logins()
    else:
        raise click.ClickException("The database already has users; seed-demo only fills an empty one.")
    click.echo(f"\nDemo log-ins at {public_url('auth.login')} (password for all: {seed.DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.role:<20} {login.name:<8} {login.mobile}")


@click.command("seed-scale")
@click.option("--workers", type=click.IntRange(1), required=True, help="How many workers to add.")
@click.option("--unions", type=click.IntRange(1), default=None,
              help="How many grassroots unions to add (default: one per 300 workers, at least 10).")
@click.option("--seed", "rng_seed", default=2026, show_default=True, help="Seed of the random generator.")
def seed_scale_command(workers: int, unions: int | None, rng_seed: int, **options: object) -> None:
    """Add a realistic union tree and N workers, bulk-inserted (COPY on PostgreSQL), for scale tests."""
    started = time.perf_counter()
    with click.progressbar(length=workers, label="Seeding workers", file=sys.stderr) as bar:
        context = seed_scale(workers, unions, rng_seed=rng_seed, progress=bar.update, options=options)
        db.session.commit()
    elapsed = time.perf_counter() - started
    click.echo(f"Seeded {workers} workers in {len(context.unions)} grassroots unions in {elapsed:.1f} s "
               f"({workers / elapsed:,.0f} workers/s). Password for all: {seed.DEMO_PASSWORD}")


@click.command("create-admin")
@click.option("--mobile", prompt=True, help="The administrator's mobile number (the log-in).")
@click.option("--name", prompt="Real name", help="The administrator's real name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--city-name", default="市总工会", show_default=True, help="Root union, created when missing.")
def create_admin_command(mobile: str, name: str, password: str, city_name: str) -> None:
    """Create a site administrator (and the city federation when the tree is empty)."""
    mobile = normalize_mobile(mobile)
    if not is_mobile(mobile):
        raise click.BadParameter("enter an 11-digit mainland mobile number", param_hint="--mobile")
    try:
        check_password_rules(password, mobile=mobile)
    except DomainError as error:
        raise click.BadParameter(str(error), param_hint="--password") from None
    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
        raise click.ClickException("an account with this mobile number exists")
    root = db.session.scalar(select(TradeUnion).where(TradeUnion.parent_id.is_(None)))
    if root is None:
        root = create_union(None, city_name, UnionKind.CITY)
    user = User(real_name=name.strip(), mobile=mobile, password_hash=hash_password(password),
                created_at=utcnow(), locale=current_app.config["BABEL_DEFAULT_LOCALE"])
    db.session.add(user)
    db.session.flush()
    db.session.add(RoleGrant(user_id=user.id, role=Role.SITE_ADMIN, union_id=root.id))
    db.session.commit()
    click.echo(f"Site administrator {name} ({mobile}) created.")


members_cli = AppGroup("members", help="Members: import from a CSV or XLSX file.")


@members_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--union", "union_code", required=True,
              help="Code of the union whose subtree the rows may name (the default for rows without one).")
@click.option("--dry-run", is_flag=True, help="Check every row and write nothing.")
@click.option("--sms/--no-sms", default=True, show_default=True, help="Text each invited person their link.")
@click.option("--links", "links_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the invitation links (name, mobile, link) to this CSV file.")
def import_members_command(path: Path, union_code: str, dry_run: bool, sms: bool, links_path: Path | None) -> None:
    """Import members like the union admin page does: all rows or none, the same result when run twice."""
    union = db.session.scalar(select(TradeUnion).where(TradeUnion.code == union_code))
    if union is None:
        raise click.ClickException(f"no union has the code {union_code}")
    try:
        rows = read_rows(path, file_format(path.name))
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    result = _checked_import(rows, union, dry_run=dry_run)
    if result is None:
        click.echo(f"{len(rows)} rows checked: no errors. Nothing written (dry run).")
        return
    db.session.commit()
    click.echo(f"{result.total} rows: {result.created} created, {result.updated} updated, {result.unchanged} "
               f"unchanged, {result.invited} invitations; {result.total / max(result.seconds, 1e-9):,.0f} rows/s.")
    if links_path:
        _write_links(links_path, result.tokens)
    welcome(result.tokens, union.name, text_links=sms, now=utcnow())


def _checked_import(rows: list[ImportRow], union: TradeUnion, *, dry_run: bool) -> ImportResult | None:
    """Check every row and, unless ``dry_run``, write them (uncommitted); with any row wrong, list the
    errors and fail, nothing written."""
    with _progress(len(rows), "Checking" if dry_run else "Importing") as progress:
        try:
            if not dry_run:
                return run_import(rows, union, actor=None, now=utcnow(), progress=progress)
            errors = validate(rows, union, now=utcnow(), progress=progress).errors
            if errors:
                raise ImportRejected(errors)
            return None
        except ImportRejected as rejected:
            db.session.rollback()
            _report_errors(rejected.errors)


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar in a terminal; plain lines ("writing 3000/10000") on stderr otherwise."""
    state = {"position": 0}
    bar = click.progressbar(length=2 * total, label=label, file=sys.stderr) if sys.stderr.isatty() else None

    def report(phase: str, done: int, phase_total: int) -> None:
        position = done + (phase_total if phase == "writing" else 0)
        if bar is not None:
            bar.update(position - state["position"])
        else:
            click.echo(f"{phase} {done}/{phase_total}", err=True)
        state["position"] = position

    with bar if bar is not None else contextlib.nullcontext():
        yield report


def _report_errors(errors: list[RowError]) -> NoReturn:
    rows = sorted({error.row for error in errors})
    for error in errors[:200]:
        click.echo(f"row {error.row}, {error.field}: {error.message}", err=True)
    if len(errors) > 200:
        click.echo(f"… and {len(errors) - 200} more", err=True)
    raise click.ClickException(f"{len(rows)} rows have errors; nothing was imported.")


def _write_links(path: Path, tokens: dict[int, str]) -> None:
    ids = list(tokens)
    rows = []
    for start in range(0, len(ids), 1000):
        rows += [(user.real_name, user.mobile, invitation_link(tokens[user.id])) for user in db.session.scalars(
            select(User).where(User.id.in_(ids[start:start + 1000])).order_by(User.id))]
    path.write_bytes(csv_bytes(["name", "mobile", "invitation link"], rows))
    click.echo(f"{len(rows)} invitation links written to {path}.")


unions_cli = AppGroup("unions", help="The union tree's maintained figures.")


@unions_cli.command("check")
def check_member_counts_command() -> None:
    """Compare the member counters and the members per month with the memberships; exit 1 and list the
    differences if they disagree."""
    differences = counter_checks.mismatches()
    for (union_id, status), (rows, kept) in sorted(differences.items()):
        click.echo(f"union {union_id}, {status}: memberships {rows}, counter {kept}")
    months = history.mismatches()
    for (union_id, month), (rows, kept) in sorted(months.items()):
        click.echo(f"union {union_id}, members at the end of {month:%Y-%m}: memberships {rows}, months {kept}")
    if differences or months:
        raise SystemExit(1)
    click.echo("The member counters match the memberships.")


@unions_cli.command("recount")
def recount_member_counts_command() -> None:
    """Rebuild the member counters and the members per month from the memberships (after hand-written
    changes with triggers off)."""
    begin_write(db.session)
    counter_checks.recount()
    history.rebuild()
    db.session.commit()
    click.echo("The member counters are rebuilt.")


def init_app(app: Flask) -> None:
    """The shell's commands. Called after the packages' own ``init_app``: seed-scale takes the options of
    the extensions they added."""
    app.cli.add_command(unions_cli)
    app.cli.add_command(seed_demo_command)
    extension_options = [option for _extension, options in registry(app).scale_extensions for option in options]
    command = copy.copy(seed_scale_command)  # this app's own: the module's command is never changed
    command.params = [*seed_scale_command.params, *extension_options]
    app.cli.add_command(command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(members_cli)

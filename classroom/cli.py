"""Command-line tools: flask seed-demo, flask create-admin."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from classroom.accounts.models import Role, RoleGrant, User
from classroom.accounts.services import check_password_rules
from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.personal_data import is_mobile, normalize_mobile
from classroom.security import hash_password
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.services import create_union


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
@click.option("--workers", default=320, show_default=True, help="How many workers to create.")
def seed_demo_command(if_empty: bool, workers: int) -> None:
    """Load demo data (a union tree, workers, instructors, admins) and print the log-ins."""
    from classroom import seed

    if seed.database_is_empty():
        logins = seed.seed_demo(workers=workers)
        db.session.commit()
        click.echo(f"Demo data loaded: {workers} workers.")
    elif if_empty:
        click.echo("The database already has data; demo data not loaded again.")
        logins = seed.staff_logins()
    else:
        raise click.ClickException("The database already has users; seed-demo only fills an empty one.")
    click.echo(f"\nDemo log-ins (password for all: {seed.DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.role:<20} {login.name:<8} {login.mobile}")


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


def init_app(app) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)

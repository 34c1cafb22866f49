"""`flask certificates …` commands."""

import click
from flask.cli import AppGroup

certificates_cli = AppGroup("certificates", help="Certificates: keys, backfill.")


@certificates_cli.command("noop", hidden=True)
def _noop() -> None:
    click.echo("nothing to do")

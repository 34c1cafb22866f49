"""``flask api spec``: the OpenAPI document, and its committed snapshot (``--write`` renews it, ``--check``
compares)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
api_cli = AppGroup("api", help="The JSON API.")


def document() -> dict[str, Any]:
    """The app's OpenAPI document, as /api/v1/openapi.json serves it."""
    return current_app.extensions["classroom_api"].api.document()


def dumps(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@api_cli.command("spec")
@click.option("--write", is_flag=True, help=f"Write the document to {SNAPSHOT.name} (commit it).")
@click.option("--check", is_flag=True, help="Fail when the document differs from the snapshot.")
def spec_command(write: bool, check: bool) -> None:
    """Print the OpenAPI document (or write, or check, its snapshot)."""
    text = dumps(document())
    if write:
        SNAPSHOT.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {SNAPSHOT}")
    elif check:
        if not SNAPSHOT.exists() or SNAPSHOT.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{SNAPSHOT.name} is out of date: run `flask api spec --write`")
        click.echo("The snapshot is current.")
    else:
        click.echo(text, nl=False)

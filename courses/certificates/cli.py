"""`flask certificates …`: backfill missing certificates, rotate the signing key."""

from __future__ import annotations

from typing import BinaryIO

import click
from flask.cli import AppGroup

from classroom.audit import record_event
from classroom.database import begin_write, utcnow
from classroom.extensions import db
from courses.certificates import issuance
from courses.certificates.signing import rotate_key

certificates_cli = AppGroup("certificates", help="Certificates: keys, backfill.")


@certificates_cli.command("backfill")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(min=1),
              help="Certificates per transaction.")
def backfill_command(batch: int) -> None:
    """Issue certificates for completed enrollments that have none (run it as often as you like), one
    transaction per batch."""
    now = utcnow()
    missing = issuance.missing()
    issued = 0
    for start in range(0, len(missing), batch):
        begin_write(db.session)
        issued += issuance.backfill(missing[start:start + batch], now=now)
        db.session.commit()
    click.echo(f"{issued} certificate(s) issued")


@certificates_cli.command("rotate-key")
@click.option("--private-key", "private_key", type=click.File("rb"), default=None,
              help="Import this Ed25519 private key (PEM, PKCS#8) instead of generating one.")
def rotate_key_command(private_key: BinaryIO | None) -> None:
    """Make a new active signing key; older keys stay published, so their signatures still verify."""
    begin_write(db.session)
    key = rotate_key(now=utcnow(), private_pem=private_key.read() if private_key else None)
    record_event(None, "certificate.key_rotated", object_type="SigningKey", object_id=key.id, kid=key.kid)
    db.session.commit()
    click.echo(f"new signing key {key.kid}")

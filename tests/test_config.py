"""Settings: classes, CLASSROOM_* overrides, development secrets, production refusals; /healthz."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import pytest

from classroom import create_app
from config import ROOT, ConfigurationError


def test_production_refuses_to_start_without_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "FERNET_KEY", "LOOKUP_HASH_KEY", "CERTIFICATE_SIGNING_KEY",
                 "PUBLIC_BASE_URL"):
        monkeypatch.delenv(f"CLASSROOM_{name}", raising=False)
    with pytest.raises(ConfigurationError, match="CLASSROOM_SECRET_KEY"):
        create_app("production")


def test_production_needs_the_certificate_signing_key(monkeypatch, database_url):
    for name, value in (("SECRET_KEY", "s"), ("DATABASE_URL", database_url), ("LOOKUP_HASH_KEY", "k"),
                        ("FERNET_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="),
                        ("PUBLIC_BASE_URL", "https://xuetang.example.cn")):
        monkeypatch.setenv(f"CLASSROOM_{name}", value)
    monkeypatch.delenv("CLASSROOM_CERTIFICATE_SIGNING_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="settings: CLASSROOM_CERTIFICATE_SIGNING_KEY$"):
        create_app("production")


def test_every_setting_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSROOM_PAGE_SIZE", "7")
    monkeypatch.setenv("CLASSROOM_LOGIN_LIMIT_PER_IP", "3 per minute")
    app = create_app("testing", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert app.config["PAGE_SIZE"] == 7 and app.config["LOGIN_LIMIT_PER_IP"] == "3 per minute"


def test_development_secrets_are_generated_once(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSROOM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CLASSROOM_SECRET_KEY", raising=False)
    monkeypatch.delenv("CLASSROOM_DATABASE_URL", raising=False)
    first = create_app("development")
    second = create_app("development")
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) > 40
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'classroom.db'}"
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["FERNET_KEY"] == first.config["FERNET_KEY"]
    assert stored["CERTIFICATE_SIGNING_KEY"].startswith("-----BEGIN PRIVATE KEY-----")
    assert first.config["CERTIFICATE_SIGNING_KEY"] == second.config["CERTIFICATE_SIGNING_KEY"]
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_sqlite_pragmas(tmp_path):
    from classroom.extensions import db

    app = create_app("testing", DATABASE_URL=f"sqlite:///{tmp_path / 'pragmas.db'}")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_healthz_reports_database_migrations_and_version(client):
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["database"] == "ok" and body["migrations"]["at_head"]
    assert body["version"]


def test_healthz_says_when_the_database_is_behind(app, client):
    from sqlalchemy import text

    from classroom.extensions import db

    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    db.session.commit()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json["migrations"]["at_head"] is False
    finally:  # the PostgreSQL database lives for the whole session
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


# ---- `make run`: the Python version and the port are checked before anything starts ---------------------

def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60)


def test_make_says_plainly_when_python_is_too_old(tmp_path):
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\necho 3.9\n")
    old.chmod(0o755)
    for python, found in ((old, "is Python 3.9."), ("/bin/false", "is not a working Python.")):
        result = make("python-check", f"PYTHON={python}")  # not `run` itself: were the check broken, it would start
        assert result.returncode != 0 and f"needs Python 3.11 or newer; '{python}' {found}" in result.stdout
        assert "PYTHON=python3.11" in result.stdout
    assert make("python-check", f"PYTHON={sys.executable}").returncode == 0
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: python-check port-check ", makefile, re.M) and re.search(r"^test: python-check ", makefile, re.M)


def test_make_run_stops_with_a_hint_when_the_port_is_taken():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = make("port-check", f"PORT={port}", f"PYTHON={sys.executable}")
        assert result.returncode != 0 and re.match(rf"Port {port} is in use: try make run PORT=\d+\n", result.stdout)
    assert make("port-check", f"PORT={port}", f"PYTHON={sys.executable}").returncode == 0
    assert "PORT must be a number" in make("port-check", "PORT=50x0", f"PYTHON={sys.executable}").stdout

"""The deployment in deploy/ (issue 18): nginx's site passes `nginx -t` (with a throw-away certificate and
paths), retries only idempotent requests, forwards the request id; the Procfile runs two app hosts, two
schedulers and two queue workers; the systemd units start what exists; gunicorn's settings take the
workers from the CPU count and carry the hooks."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xuetang.example.cn")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    cert, private = folder / "fullchain.pem", folder / "privkey.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, private


def nginx_or_skip() -> str:
    """The nginx binary; without it the test skips, except under CI=true where that is a failure."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        if IN_CI:
            pytest.fail("CI=true but nginx is not installed (apt-get install -y nginx-light)")
        pytest.skip("needs nginx (apt-get install -y nginx-light)")
    return nginx


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = nginx_or_skip()
    cert, key = self_signed(tmp_path)
    (tmp_path / "logs").mkdir()
    snippet = tmp_path / "classroom-proxy.conf"
    shutil.copy(DEPLOY / "nginx-classroom-proxy.conf", snippet)
    site = (DEPLOY / "nginx-classroom.conf").read_text()
    site = (site.replace("/etc/ssl/classroom/fullchain.pem", str(cert)).replace("/etc/ssl/classroom/privkey.pem", str(key))
            .replace("/etc/nginx/snippets/classroom-proxy.conf", str(snippet)).replace("/srv/classroom/", f"{ROOT}/")
            .replace("listen 80;", "listen 18080;").replace("listen [::]:80;", "listen [::]:18080;")
            .replace("listen 443 ssl http2;", "listen 18443 ssl http2;")
            .replace("listen [::]:443 ssl http2;", "listen [::]:18443 ssl http2;"))
    (tmp_path / "site.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
                    f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n"
                    f" client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;\n"
                    f" fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;\n"
                    f" include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_nginx_retries_only_idempotent_requests_and_forwards_the_request_id():
    proxy = (DEPLOY / "nginx-classroom-proxy.conf").read_text()
    directives = [line.split("#")[0].strip() for line in proxy.splitlines()]
    [retry] = [line for line in directives if line.startswith("proxy_next_upstream ")]
    assert "non_idempotent" not in retry and "error" in retry
    assert "proxy_set_header X-Request-ID $request_id;" in directives
    site = (DEPLOY / "nginx-classroom.conf").read_text()
    assert re.search(r"listen 443 ssl http2;", site) and "gzip on;" in site and "alias /srv/classroom/static/;" in site
    assert len(re.findall(r"^\s*server 10\.0\.0\.\d+:8000 max_fails=\d+ fail_timeout=\d+s;", site, re.M)) == 2


def test_the_procfile_runs_the_production_topology_and_the_units_run_what_exists():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                    if line and not line.startswith("#"))
    assert set(procfile) == {"web1", "web2", "scheduler1", "scheduler2", "worker1", "worker2"}
    assert "--bind 127.0.0.1:8001" in procfile["web1"] and "--bind 127.0.0.1:8002" in procfile["web2"]
    assert procfile["scheduler1"].endswith("scheduler run") and procfile["worker1"].endswith("queue worker")
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {"classroom-web.service", "classroom-scheduler.service", "classroom-worker@.service"}
    for text in units.values():
        assert "EnvironmentFile=/etc/classroom/classroom.env" in text and "Restart=always" in text
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in units["classroom-web.service"]
    env = (DEPLOY / "classroom.env.example").read_text()
    from config import REQUIRED_IN_PRODUCTION
    for name in (*REQUIRED_IN_PRODUCTION, "QUEUE_URL", "REPLICA_DATABASE_URL", "METRICS_TOKEN", "STORAGE_BACKEND"):
        assert f"CLASSROOM_{name}=" in env, name


def test_the_commands_the_units_run_exist(runner):
    assert runner.invoke(args=["queue", "--help"]).exit_code == 0
    assert runner.invoke(args=["scheduler", "--help"]).exit_code == 0
    assert "CLASSROOM_QUEUE_URL is not set" in runner.invoke(args=["queue", "worker"]).output


def test_gunicorn_takes_the_workers_from_the_cpu_count_and_carries_the_hooks(monkeypatch, tmp_path):
    import runpy

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # (the file sets these: restored after)
    monkeypatch.setenv("CLASSROOM_SCHEDULER_START", "with_app")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == os.cpu_count() * 2 + 1
    assert all(callable(settings[hook]) for hook in ("post_fork", "post_worker_init", "child_exit", "on_starting"))
    assert (tmp_path / "metrics").is_dir()

"""Helpers shared by the benchmarks: a throwaway PostgreSQL database, gunicorn, wrk."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")  # production runs with Redis too


def fresh_database(name: str) -> str:
    """Drop and create database ``name``; return its URL."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


BENCH_SIGNING_KEY = None


def _signing_key() -> str:
    global BENCH_SIGNING_KEY
    if BENCH_SIGNING_KEY is None:
        sys.path.insert(0, str(ROOT))
        from config import _new_signing_key_pem

        BENCH_SIGNING_KEY = _new_signing_key_pem()
    return BENCH_SIGNING_KEY


def app_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "CLASSROOM_ENV": "production", "CLASSROOM_DATABASE_URL": database_url,
            "CLASSROOM_SECRET_KEY": "bench", "CLASSROOM_FERNET_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
            "CLASSROOM_LOOKUP_HASH_KEY": "bench", "CLASSROOM_CERTIFICATE_SIGNING_KEY": _signing_key(),
            "CLASSROOM_PUBLIC_BASE_URL": "https://bench.example.cn", "CLASSROOM_LOGIN_LIMIT_PER_IP": "100000 per minute",
            "CLASSROOM_SESSION_COOKIE_SECURE": "false", "CLASSROOM_HSTS": "false",
            "CLASSROOM_AUTH_CACHE_URL": REDIS_URL, "CLASSROOM_AUTH_CACHE_PREFIX": f"bench:{database_url}:"}


def flask(database_url: str, *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "classroom", *args], env=app_env(database_url), check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 2, threads: int = 1):
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "classroom:create_app()"], env=app_env(database_url), cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/ping", timeout=1)  # noqa: S310 - loopback
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def login_cookie(base: str, mobile: str, password: str) -> str:
    """Log in through the form; return the Cookie header value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/auth/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"identifier": mobile, "password": password, "csrf_token": token}).encode()
    opener.open(base + "/auth/login", data=data)
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def wrk(url: str, *, seconds: int = 15, connections: int = 8, threads: int = 2, cookie: str | None = None) -> float:
    """Requests per second that wrk measured (non-2xx answers make it fail loudly)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"non-2xx answers from {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

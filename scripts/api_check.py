"""`make api-check`: the JSON API against its own OpenAPI document, in full, on a live server.

Builds a throw-away demo site (SQLite in a temporary folder), serves it on a free loopback port, signs a
demo district administrator and a demo worker in through the API, and runs schemathesis on every operation
(both generation modes) with each one's token and the checks the suite's bounded run uses: no server error,
no status, media type, body or header outside the document. The exit code is non-zero when either run fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance," \
         "response_headers_conformance"
DEMO_LOGINS = {"admin": "13800000003", "worker": "13800000006"}  # a district administrator, a worker (seed-demo)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback server
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def sign_in(base: str, mobile: str) -> str:
    login = {"mobile": mobile, "password": "Gonghui#2026", "device_name": "make api-check"}
    request = urllib.request.Request(f"{base}/api/v1/auth/token", data=json.dumps(login).encode(),  # noqa: S310
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback server
        return json.load(response)["access_token"]


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="api-check-") as folder:
        env = dict(os.environ, CLASSROOM_ENV="development", CLASSROOM_INSTANCE_PATH=folder,
                   CLASSROOM_PUBLIC_BASE_URL=base, CLASSROOM_RATELIMIT_ENABLED="false", CLASSROOM_LOG_LEVEL="WARNING",
                   CLASSROOM_DATABASE_URL=f"sqlite:///{folder}/check.db")
        flask = [str(BIN / "flask"), "--app", "classroom"]  # our own commands, fixed arguments
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True)  # noqa: S603
        subprocess.run([*flask, "seed-demo", "--if-empty", "--workers", "40"], cwd=ROOT, env=env, check=True)  # noqa: S603
        server = subprocess.Popen([*flask, "run", "--port", str(port), "--no-reload"], cwd=ROOT, env=env)  # noqa: S603
        try:
            wait_for(f"{base}/healthz")
            failed = 0
            for who, mobile in DEMO_LOGINS.items():  # every operation with each one's token
                print(f"schemathesis with the {who}'s token", flush=True)
                token = sign_in(base, mobile)
                failed |= subprocess.run([  # noqa: S603
                    str(BIN / "st"), "run", f"{base}/api/v1/openapi.json", "--header",
                    f"Authorization: Bearer {token}", "--checks", CHECKS,
                    "--max-examples", os.environ.get("API_CHECK_EXAMPLES", "100"),
                    "--exclude-path", "/api/v1/auth/logout",  # it would end the run's own token
                    "--seed", "2026", "--request-timeout", "30"], cwd=folder).returncode  # (its cache stays there)
            return failed
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())

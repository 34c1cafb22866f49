"""The production shape on one machine, as the Procfile runs it: two app hosts (gunicorn masters), two
schedulers, two queue workers, and nginx in front with the upstream settings of deploy/nginx-classroom.conf
and the proxy snippet deploy/nginx-classroom-proxy.conf as shipped. Each process runs in a process group of
its own, so that a SIGKILL takes a whole "host" (a master and its workers, a queue worker and its
work-horse) at once."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"


def upstream_settings() -> tuple[int, int]:
    """max_fails and fail_timeout (s) of the app hosts in the shipped nginx site."""
    site = (DEPLOY / "nginx-classroom.conf").read_text()
    match = re.search(r"server \S+ max_fails=(\d+) fail_timeout=(\d+)s;", site)
    if not match:
        raise SystemExit("deploy/nginx-classroom.conf: no 'server … max_fails=N fail_timeout=Ns;' line")
    return int(match[1]), int(match[2])


def nginx_conf(folder: Path, port: int, hosts: list[int]) -> Path:
    """A site with the shipped upstream settings and proxy snippet, on plain HTTP (no certificate here)."""
    max_fails, fail_timeout = upstream_settings()
    servers = "".join(f"        server 127.0.0.1:{host} max_fails={max_fails} fail_timeout={fail_timeout}s;\n"
                      for host in hosts)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format drill '$msec $status "$upstream_addr" "$upstream_status" $request_method "$request_uri" $request_time';
    access_log {folder}/nginx-access.log drill;
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    client_max_body_size 24m;
    upstream classroom_app {{
{servers}        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://classroom_app;
            include {DEPLOY}/nginx-classroom-proxy.conf;
        }}
    }}
}}
""")
    return conf


@dataclass
class Process:
    name: str
    command: list[str]
    popen: subprocess.Popen | None = None
    killed_at: float | None = None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def children(self) -> list[int]:
        """Direct children (a gunicorn master's workers, a queue worker's work-horse)."""
        if self.popen is None:
            return []
        found = []
        for task in Path(f"/proc/{self.popen.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                found += [int(pid) for pid in task.read_text().split()]
        return found


@dataclass
class Topology:
    folder: Path
    env: dict[str, str]
    nginx_port: int
    hosts: list[int]
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        gunicorn = [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py")]
        flask = [str(BIN / "flask"), "--app", "classroom"]
        for number, port in enumerate(self.hosts, 1):
            self.processes[f"web{number}"] = Process(f"web{number}", [*gunicorn, "--bind", f"127.0.0.1:{port}",
                                                                       "classroom:create_app()"])
        for number in (1, 2):
            self.processes[f"scheduler{number}"] = Process(f"scheduler{number}", [*flask, "scheduler", "run"])
        for number in (1, 2):
            # RQ's sweep for abandoned jobs is every 10 minutes by default, and an idle worker wakes only every
            # worker-ttl - 15 s (405): too seldom for a two-minute drill (here: within 5 + 60 + 10 s)
            self.processes[f"worker{number}"] = Process(f"worker{number}", [
                *flask, "queue", "worker", "--job-monitoring-interval", "5", "--maintenance-interval", "10",
                "--worker-ttl", "25"])
        conf = nginx_conf(self.folder, self.nginx_port, self.hosts)
        self.processes["nginx"] = Process("nginx", ["nginx", "-p", str(self.folder), "-c", str(conf),
                                                    "-g", "daemon off;"])

    def start(self, name: str) -> None:
        process = self.processes[name]
        env = dict(self.env)
        if name.startswith("web"):
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.folder / f"metrics-{name}")
        log = (self.folder / f"{name}.log").open("a")
        process.popen = subprocess.Popen(process.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def start_all(self) -> None:
        for name in self.processes:
            self.start(name)

    def kill(self, name: str) -> float:
        """SIGKILL the process, its group and its children (the host is gone): RQ's work-horse runs in a
        session of its own, so the group alone would leave it finishing the job. The moment it happened."""
        process = self.processes[name]
        assert process.popen is not None
        for child in process.children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        process.killed_at = time.time()
        process.popen.wait(10)
        return process.killed_at

    def wait_ready(self, timeout: float = 120) -> None:
        """Both app hosts answer /ping directly and through nginx."""
        deadline = time.monotonic() + timeout
        for url in [*(f"http://127.0.0.1:{port}/ping" for port in self.hosts), f"http://127.0.0.1:{self.nginx_port}/ping"]:
            while True:
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
                    break
                dead = [name for name, process in self.processes.items() if process.popen and not process.alive]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"not ready: {url} (exited: {', '.join(dead) or 'none'}; logs in {self.folder})")
                time.sleep(0.3)

    def stop_all(self) -> None:
        """SIGTERM every group still running, then SIGKILL what has not exited after 15 s."""
        live = [process for process in self.processes.values() if process.alive]
        for process in live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + 15
        for process in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(max(0.1, deadline - time.monotonic()))  # type: ignore[union-attr]
        for process in self.processes.values():
            if process.popen is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)  # the group: orphaned children too
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.popen.wait(5)

"""The drill's own PostgreSQL: a primary made with initdb and a streaming replica made with pg_basebackup -R,
each in a temporary directory owned by the postgres user, on free ports; stopped and removed at the end."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg


def pg_bin() -> Path:
    """The server binaries (Debian keeps them out of PATH): the newest /usr/lib/postgresql/<n>/bin."""
    if found := os.environ.get("DRILL_PG_BIN"):
        return Path(found)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise SystemExit("No PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql).")
    return versions[-1].parent


def as_postgres(*command: str | Path, check: bool = True, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run a server command as the postgres user (initdb refuses root); as ourselves when we are not root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *map(str, command)], check=check, text=True,
                          stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None)


@dataclass
class Node:
    name: str
    data: Path
    port: int
    log: Path

    def url(self, database: str = "classroom") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "classroom") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=3"


@dataclass
class Cluster:
    """A primary and its replica. ``start()`` makes both; ``remove()`` stops them and deletes the folders."""

    ports: tuple[int, int]
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="classroom-drill-pg-")))

    def __post_init__(self) -> None:
        self.bin = pg_bin()
        self.primary = Node("primary", self.root / "primary", self.ports[0], self.root / "primary.log")
        self.replica = Node("replica", self.root / "replica", self.ports[1], self.root / "replica.log")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.root.chmod(0o700)

    def start(self) -> None:
        as_postgres(self.bin / "initdb", "-D", self.primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8")
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# the drill\nlisten_addresses = '127.0.0.1'\nport = {self.primary.port}\n"
                       f"unix_socket_directories = '{self.root}'\nwal_level = replica\nmax_wal_senders = 5\n"
                       "max_connections = 200\nshared_buffers = 128MB\nfsync = on\nhot_standby = on\n"
                       "wal_keep_size = 512MB\n")
        self.start_node(self.primary)
        with psycopg.connect(self.primary.dsn("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE classroom")
        as_postgres(self.bin / "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                    "-D", self.replica.data, "-R", "-X", "stream", "-c", "fast")
        with (self.replica.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.replica.port}\n")
        self.start_node(self.replica)

    def start_node(self, node: Node) -> None:
        as_postgres(self.bin / "pg_ctl", "-D", node.data, "-l", node.log, "-w", "-t", "60", "start")

    def stop_node(self, node: Node, mode: str = "fast") -> None:
        as_postgres(self.bin / "pg_ctl", "-D", node.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def replica_caught_up(self) -> bool:
        """Whether the replica has replayed everything the primary has written."""
        with psycopg.connect(self.primary.dsn(), autocommit=True) as primary:
            written = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        with psycopg.connect(self.replica.dsn(), autocommit=True) as replica:
            return bool(replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written,)).fetchone()[0])

    def wait_replica(self, timeout: float = 60) -> float:
        """Seconds until the replica has caught up with the primary's current WAL position."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(psycopg.Error):
                if self.replica_caught_up():
                    return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError("the replica did not catch up")

    def remove(self) -> None:
        for node in (self.replica, self.primary):
            if (node.data / "postmaster.pid").exists():
                self.stop_node(node, "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

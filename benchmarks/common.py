"""Helpers shared by the benchmarks: throwaway PostgreSQL databases, gunicorn and wrk, and the one
way every benchmark measures (alternating rounds, CPU per operation, median and spread, result rows
for `make bench`)."""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")  # production runs with Redis too
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "benchmarks" / "out"))
PASSWORD = "Gonghui#2026"  # every demo and seeded account's
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# ---- databases: a unique name per run, dropped however the run ends -------------------------
_live: set[str] = set()
_guarded: list = []  # the exit hook, once installed


def url_of(name: str) -> str:
    return sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _admin(statement: str) -> None:
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def _drop_all() -> None:
    for name in list(_live):
        with contextlib.suppress(Exception):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _live.discard(name)


def _stop(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds every `finally`: servers stop, databases are dropped


@contextlib.contextmanager
def database(name: str, *, reuse: str | None = None, keep: bool = False) -> Iterator[str]:
    """A new database ``bench_<name>_<pid>_<random>`` for this run, dropped when the block ends, at
    exit or on SIGINT/SIGTERM unless ``keep``; ``reuse`` names an existing one (never dropped)."""
    if reuse:
        yield url_of(reuse)
        return
    if not _guarded and threading.current_thread() is threading.main_thread():
        _guarded.append(atexit.register(_drop_all))
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    full = f"bench_{name}_{os.getpid()}_{secrets.token_hex(3)}"
    _admin(f'CREATE DATABASE "{full}"')
    _live.add(full)
    try:
        yield url_of(full)
    finally:
        if keep:
            _live.discard(full)
            print(f"kept database {full} (reuse it with --reuse {full}; drop it by hand)")
        else:
            _admin(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)')
            _live.discard(full)


# ---- the app as deployed: gunicorn, log-ins, wrk ---------------------------------------------
_signing_key: list[str] = []


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of the production app on ``database_url`` (Redis for the log-in cache and
    rate limits); ``extra`` adds CLASSROOM_<NAME> settings."""
    if not _signing_key:
        sys.path.insert(0, str(ROOT))
        from config import _new_signing_key_pem

        _signing_key.append(_new_signing_key_pem())
    return {**os.environ, "CLASSROOM_ENV": "production", "CLASSROOM_DATABASE_URL": database_url,
            "CLASSROOM_SECRET_KEY": "bench", "CLASSROOM_FERNET_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
            "CLASSROOM_LOOKUP_HASH_KEY": "bench", "CLASSROOM_CERTIFICATE_SIGNING_KEY": _signing_key[0],
            "CLASSROOM_PUBLIC_BASE_URL": "https://bench.example.cn", "CLASSROOM_LOGIN_LIMIT_PER_IP": "100000 per minute",
            "CLASSROOM_SESSION_COOKIE_SECURE": "false", "CLASSROOM_HSTS": "false",
            "CLASSROOM_AUTH_CACHE_URL": REDIS_URL, "CLASSROOM_AUTH_CACHE_PREFIX": f"bench:{database_url}:",
            "CLASSROOM_RATELIMIT_STORAGE_URL": REDIS_URL,
            **{f"CLASSROOM_{key}": value for key, value in extra.items()}}


def flask(database_url: str, *args: str) -> str:
    """Run a `flask --app classroom` command against ``database_url``; its output."""
    return subprocess.run([str(BIN / "flask"), "--app", "classroom", *args], env=app_env(database_url), check=True,
                          cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str  # http://127.0.0.1:<port>
    pid: int  # the gunicorn master's

    def workers(self) -> list[int]:
        """The master's children: the processes that serve requests."""
        children = []
        for task in Path(f"/proc/{self.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children += [int(pid) for pid in task.read_text().split()]
        return children


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 4, threads: int = 1, target: str = "classroom:create_app()",
             **settings: str) -> Iterator[Server]:
    """The app under gunicorn (sync workers unless ``threads``), stopped when the block ends; ``target``: the
    WSGI app to serve (a benchmark may add a baseline route to the app)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", target], env=app_env(database_url, **settings), cwd=ROOT)
    server = Server(f"http://127.0.0.1:{port}", process.pid)
    try:
        for _ in range(150):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(server.base + "/ping", timeout=1)  # noqa: S310 - loopback
                break
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {process.returncode}")
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
            process.kill()
            process.wait()


def login_cookie(base: str, mobile: str, password: str = PASSWORD) -> str:
    """Log in through the form; the Cookie header value (fails loudly when the log-in is refused)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    page = opener.open(base + "/auth/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"identifier": mobile, "password": password, "csrf_token": token}).encode()
    try:  # a log-in answers 302 to the home page (not followed: the page's own failure is measured apart)
        opener.open(base + "/auth/login", data=data)
        raise SystemExit(f"log-in refused for {mobile}")
    except urllib.error.HTTPError as answer:
        if answer.code != 302 or answer.headers.get("Location", "").endswith("/auth/login"):
            raise SystemExit(f"log-in refused for {mobile}: {answer.code}") from None
    # The first page after a log-in, as a browser opens it: what the session then records once (the privacy
    # notice checked, the CSRF secret) comes back in the cookie, which a browser keeps; wrk sends one cookie
    # for a whole round, so without this every request would redo that first page's once-only work.
    opener.open(base + "/").read()
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, cookie: str | None = None) -> str:
    """One GET that must answer 200 itself (a redirect to the log-in page would fool wrk); the body."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.build_opener(NoRedirect()).open(request, timeout=120) as response:
        return response.read().decode()


def wrk(url: str, *, seconds: int = 10, connections: int = 8, threads: int = 2, cookie: str | None = None) -> int:
    """Requests that wrk completed; non-2xx answers or socket errors (timeouts) fail loudly."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run([*command, url], capture_output=True, text=True)
    output = done.stdout
    if done.returncode or "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"errors from {url}: {done.stderr.strip()} {output}")
    return int(re.search(r"(\d+) requests in", output).group(1))


# ---- CPU accounting -------------------------------------------------------------------------
def cpu_of(pid: int) -> float | None:
    """utime + stime of a process, in seconds (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu() -> float:
    """This process's CPU and that of its finished children (a `flask` command it ran)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class Sample:
    count: float = 0  # operations done: requests, runs, rows
    seconds: float = 0.0  # wall time
    cpu: float = 0.0  # CPU seconds: the serving processes and the database's backends

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_each(self) -> float:
        return self.cpu / self.count


class Meter:
    """CPU spent serving a benchmark: some processes (``processes``, e.g. a gunicorn's workers; or
    this process with ``own``) plus the PostgreSQL backends connected to ``database_url``, sampled
    during a span so that short-lived backends (parallel workers, a command's connection) count."""

    def __init__(self, database_url: str | None, processes: Callable[[], Iterable[int]] = list, *,
                 own: bool = False, interval: float = 0.5) -> None:
        self.database = sa.engine.make_url(database_url).database if database_url else None
        self.processes, self.own, self.interval = processes, own, interval

    def _snapshot(self, connection) -> dict[int, float]:
        pids = list(self.processes())
        if self.database and connection is not None:
            pids += connection.execute(sa.text(  # not autovacuum: it is the database's, not the request's
                "SELECT pid FROM pg_stat_activity WHERE datname = :name AND backend_type IN ('client backend', "
                "'parallel worker')"), {"name": self.database}).scalars().all()
        return {pid: cpu for pid in pids if (cpu := cpu_of(pid)) is not None}

    @contextlib.contextmanager
    def span(self) -> Iterator[Sample]:
        """Measure the block: its wall time and CPU go into the yielded Sample; the block sets count."""
        # Autocommit: within one transaction PostgreSQL would show the same pg_stat_activity snapshot.
        engine = sa.create_engine(ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT") \
            if self.database else None
        with engine.connect() if engine else contextlib.nullcontext() as connection:
            sample, stop, seen = Sample(), threading.Event(), {}
            before = self._snapshot(connection)

            def watch() -> None:
                while not stop.wait(self.interval):
                    seen.update(self._snapshot(connection))

            watcher = threading.Thread(target=watch, daemon=True)
            own, started = own_cpu(), time.perf_counter()
            watcher.start()
            try:
                yield sample
            finally:
                sample.seconds = time.perf_counter() - started
                stop.set()
                watcher.join()
                seen.update(self._snapshot(connection))
                sample.cpu = sum(cpu - before.get(pid, 0.0) for pid, cpu in seen.items())
                sample.cpu += own_cpu() - own if self.own else 0.0
        if engine:
            engine.dispose()


def load(meter: Meter, url: str, **options) -> Sample:
    """wrk against ``url`` for one round, measured by ``meter``."""
    with meter.span() as sample:
        sample.count = wrk(url, **options)
    if not sample.count:
        raise RuntimeError(f"no request to {url} completed in {sample.seconds:.0f} s")
    return sample


def repeat(meter: Meter, operation: Callable[[], object], *, seconds: float = 1.0) -> Sample:
    """Run ``operation`` again and again for about ``seconds`` (at least once), measured."""
    with meter.span() as sample:
        deadline = time.perf_counter() + seconds
        while not sample.count or time.perf_counter() < deadline:
            operation()
            sample.count += 1
    return sample


# ---- comparisons: alternating rounds, median and spread ------------------------------------
@dataclass
class Spread:
    median: float
    low: float
    high: float
    q1: float
    q3: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
        return cls(statistics.median(values), min(values), max(values), q1, q3)

    def __str__(self) -> str:
        digits = min(6, max(0, 2 - math.floor(math.log10(abs(self.median))))) if self.median else 3
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f})"


@dataclass
class Comparison:
    """Rounds of (baseline, subject) samples, taken alternately."""

    rounds: list[tuple[Sample, Sample]]

    def speed(self) -> Spread:
        """subject ÷ baseline operations per second (req/s ratio)."""
        return Spread.of([subject.rate / base.rate for base, subject in self.rounds])

    def time(self) -> Spread:
        """subject ÷ baseline wall time per operation."""
        return Spread.of([base.rate / subject.rate for base, subject in self.rounds])

    def cpu(self) -> Spread:
        """subject ÷ baseline CPU per operation."""
        return Spread.of([subject.cpu_each / base.cpu_each if base.cpu else float("inf")
                          for base, subject in self.rounds])


def interleave(measures: dict[str, Callable[[], Sample]], rounds: int = 5) -> dict[str, list[Sample]]:
    """Round after round, each measure once in turn (a, b, a, b …), so that load from elsewhere on
    the machine spoils a round rather than one side; prints each sample."""
    samples: dict[str, list[Sample]] = {name: [] for name in measures}
    for number in range(1, rounds + 1):
        for name, measure in measures.items():
            samples[name].append(sample := measure())
            print(f"  round {number}, {name}: {describe(sample)}", flush=True)
    return samples


def alternate(baseline: Callable[[], Sample], subject: Callable[[], Sample], rounds: int = 5,
              names: tuple[str, str] = ("baseline", "subject"), *, subject_first: bool = False) -> Comparison:
    """Baseline and subject in alternating rounds (the subject first if it prepares the baseline)."""
    order = [(names[1], subject), (names[0], baseline)] if subject_first else [(names[0], baseline),
                                                                              (names[1], subject)]
    samples = interleave(dict(order), rounds)
    return Comparison(list(zip(samples[names[0]], samples[names[1]], strict=True)))


def describe(sample: Sample) -> str:
    """"1,436.2/s, CPU 1.21 ms each" or "10.03 s each, CPU 2.1 s each"."""
    rate = f"{sample.rate:,.1f}/s" if sample.rate >= 1 else f"{1 / sample.rate:.2f} s each"
    cpu = f"{sample.cpu_each:.3g} s" if sample.cpu_each >= 1 else f"{sample.cpu_each * 1000:.3g} ms"
    return f"{rate}, CPU {cpu} each"


# ---- result rows for `make bench` -----------------------------------------------------------
def row(measure: str, value: Spread | float | str, *, target: str = "", met: bool | None = None,
        cpu: Spread | None = None, note: str = "") -> dict:
    """One line of the results table; a target like "≥ 0.35" or "≤ 3" is checked against the median."""
    median = value.median if isinstance(value, Spread) else value
    if met is None and target and isinstance(median, int | float):
        bound = float(re.search(r"[\d.,]+", target).group().replace(",", ""))
        met = median >= bound if target.startswith("≥") else median <= bound
    return {"measure": measure, "value": str(value) if isinstance(value, Spread) else value,
            "median": median if isinstance(median, int | float) else None,
            "spread": asdict(value) if isinstance(value, Spread) else None,
            "cpu": str(cpu) if cpu else "", "cpu_spread": asdict(cpu) if cpu else None,
            "target": target, "met": met, "note": note}


def record(benchmark: str, rows: list[dict]) -> None:
    """Write this benchmark's rows to benchmarks/out/rows/<benchmark>.json (run_all gathers them)."""
    folder = OUT / "rows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{benchmark}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    for item in rows:
        state = {True: "met", False: "NOT met", None: ""}[item["met"]]
        print(f"[{benchmark}] {item['measure']}: {item['value']}  CPU {item['cpu'] or '—'}  "
              f"target {item['target'] or '—'} {state}")

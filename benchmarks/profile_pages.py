"""Profile the hot public pages in one process: the production app (settings from `app_env`, so the
log-in cache and rate limits use Redis as deployed), Flask's test client, a database seeded like the
benchmarks (`benchmarks.scale --keep` keeps one). For each page: CPU per request beside /ping's, then
cProfile's top functions by cumulative and by own time.

    .venv/bin/python -m benchmarks.profile_pages DATABASE [--requests 300] [--top 25] [--only verify,course]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

import sqlalchemy as sa

from benchmarks.common import PASSWORD, app_env, url_of

WORKER = "13800000006"  # the demo worker (flask seed-demo)


def paths(url: str) -> dict[str, tuple[str, str | None]]:
    """{name: (path, who)}: who is "worker" or None (anonymous)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        serial = connection.execute(sa.text("SELECT serial FROM certificate WHERE status = 'valid' AND serial NOT "
                                            "LIKE 'FILL-%' ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    return {"ping": ("/ping", None), "verify": (f"/verify/{serial}", None), "course": ("/courses/1", "worker"),
            "catalogue": ("/courses/", "worker"), "home": ("/", None)}


def cpu_per_request(client, path: str, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
    return (time.process_time() - started) / requests


def profile(client, path: str, requests: int, top: int) -> str:
    profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database or Redis
    profiler.enable()
    for _ in range(requests):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", help="a database name (or URL) seeded like the benchmarks")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    url = args.database if "://" in args.database else url_of(args.database)
    os.environ.update(app_env(url, CERTIFICATE_VERIFY_LIMIT="100000000 per minute"))
    from classroom import create_app

    app = create_app(WTF_CSRF_ENABLED=False)
    clients = {None: app.test_client(), "worker": app.test_client()}
    answer = clients["worker"].post("/auth/login", data={"identifier": WORKER, "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    wanted = set(filter(None, args.only.split(",")))
    found = paths(url)
    for path, who in found.values():
        cpu_per_request(clients[who], path, 20)  # warm: caches, templates, connections
    base = cpu_per_request(clients[None], "/ping", args.requests)
    for name, (path, who) in found.items():
        if wanted and name not in wanted:
            continue
        cpu = cpu_per_request(clients[who], path, args.requests)
        print(f"== {name} {path}: {cpu * 1000:.2f} ms CPU per request in-process (/ping {base * 1000:.2f} ms; "
              f"ratio {base / cpu:.2f})")
        print(profile(clients[who], path, args.requests, args.top))


if __name__ == "__main__":
    main()

"""Memory of one gunicorn worker over many distinct pages: its RSS after 2,000 requests (each of
2,000 distinct pages once: catalogue pages with different query strings, course pages, certificate
verification pages, member searches) and after 20,000 (ten passes, each in a new order) must stay
within 20 MB of the first figure: no cache or registry grows with what people ask for.

    .venv/bin/python -m benchmarks.memory [--passes 10] [--courses 1000]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import random
import threading
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

from benchmarks.catalogue import seed_courses
from benchmarks.common import database, flask, gunicorn, login_cookie, record, row
from benchmarks.scale import fill_certificates

WORDS = ["电工", "焊工", "安全", "课程", "技能", "职工", "快递", "家政", "服务", "生产"]
SORTS, CATEGORIES = ["newest", "starting", "popular"], ["电工", "焊工", "快递服务", "家政服务", "安全生产"]


def pages(url: str) -> list[tuple[str, str]]:
    """2,000 distinct (path, who) pairs: 800 catalogue, 600 course, 400 verification, 200 member pages."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        course_ids = connection.execute(sa.text(  # the city's courses: every worker sees them
            "SELECT c.id FROM course c JOIN trade_union u ON u.id = c.scope_union_id AND u.parent_id IS NULL "
            "WHERE c.status = 'published' ORDER BY c.id LIMIT 600")).scalars().all()
        tokens = connection.execute(sa.text("SELECT token FROM certificate ORDER BY id LIMIT 400")).scalars().all()
        city = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
    engine.dispose()
    queries = (urllib.parse.urlencode({"q": word, "sort": sort, "category": category, "page": page})
               for word, sort, category, page in itertools.product(WORDS + [""], SORTS, CATEGORIES + [""],
                                                                   range(1, 6)))
    found = [(f"/courses/?{query}", "worker") for query in itertools.islice(queries, 800)]
    found += [(f"/courses/{course_id}", "worker") for course_id in course_ids]
    found += [(f"/verify/{token}", "") for token in tokens]
    found += [(f"/unions/{city}/members?{urllib.parse.urlencode({'q': f'{word}{n}'})}", "admin")
              for word, n in itertools.product(WORDS, range(20))]
    assert len(found) == 2000 == len(set(found)), len(found)
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def request_all(port: int, paths: list[tuple[str, str]], cookies: dict[str, str], threads: int = 2) -> None:
    """GET every path (two client threads, so the worker is never idle); any status but 200 fails."""
    failures: list[str] = []

    def run(part: list[tuple[str, str]]) -> None:
        for path, who in part:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", path, headers={"Cookie": cookies[who]} if who else {})
            answer = connection.getresponse()
            answer.read()
            connection.close()
            if answer.status != 200:
                failures.append(f"{answer.status} {path}")

    workers = [threading.Thread(target=run, args=(paths[n::threads],)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--courses", type=int, default=1000)
    args = parser.parse_args()
    with database("memory") as url:
        flask(url, "db", "upgrade")
        flask(url, "seed-demo", "--workers", "300")
        seed_courses(url, args.courses)
        fill_certificates(url, 400)
        distinct = pages(url)
        with gunicorn(url, workers=1, CERTIFICATE_VERIFY_LIMIT="100000000 per minute") as server:
            port = int(server.base.rsplit(":", 1)[1])
            cookies = {"worker": login_cookie(server.base, "13800000006"),
                       "admin": login_cookie(server.base, "13800000002")}
            (worker,) = server.workers()
            start = rss_mb(worker)
            figures = []
            for number in range(1, args.passes + 1):
                order = distinct[:]
                random.Random(number).shuffle(order)
                request_all(port, order, cookies)
                figures.append(rss_mb(worker))
                print(f"after {number * len(distinct):6,} requests: RSS {figures[-1]:6.1f} MB", flush=True)
    growth = figures[-1] - figures[0]
    print(f"RSS at start {start:.1f} MB, after 2,000 requests {figures[0]:.1f} MB, after {len(figures) * 2000:,} "
          f"{figures[-1]:.1f} MB: growth {growth:+.1f} MB (highest {max(figures):.1f} MB)")
    record("memory", [row(f"one worker's RSS growth from 2,000 to {len(figures) * 2000:,} requests over 2,000 "
                          f"distinct pages, MB", round(growth, 1), target="≤ 20",
                          note=f"{start:.0f} MB at start, {figures[0]:.0f} MB after 2,000, "
                               f"{figures[-1]:.0f} MB after {len(figures) * 2000:,}")])


if __name__ == "__main__":
    main()

"""The same pages at two sizes: S = 10,000 and L = 1,000,000 workers, each in its own database
(`flask seed-demo` for the log-ins, courses, certificates and competitions, then `flask seed-scale`
with 2 hours entries a worker, one course per 100 workers and one certificate per 10) and its own
gunicorn (4 sync workers, log-in cache on), both up at once and measured in alternating rounds.

- the member lists as the city admin (the city's and the biggest grassroots union's: page 1, a
  deep page, a surname search) and the admin's home pages: L/S of req/s and CPU per request, goal
  L/S ≥ 0.8;
- certificate verification, a course page, the catalogue (a worker) and the anonymous home page,
  each ÷ /ping in the same server (goals 0.5, 0.3, 0.35, 0.35), on S and on L;
- SQL statements per request on the home page for each demo role (benchmarks/statements.py);
- the city hours report without its cache ÷ the plain GROUP BY (benchmarks/hours_report.py).

    .venv/bin/python -m benchmarks.scale [--small 10000] [--large 1000000] [--seconds 5] [--rounds 5] [--longest 60]
        [--keep | --reuse S_DATABASE L_DATABASE] [--only members,home,public,statements,hours]
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass

import sqlalchemy as sa

from benchmarks import hours_report
from benchmarks.catalogue import seed_courses
from benchmarks.common import (
    OUT,
    ROOT,
    Comparison,
    Meter,
    Sample,
    Server,
    alternate,
    app_env,
    database,
    fetch,
    flask,
    gunicorn,
    interleave,
    load,
    login_cookie,
    record,
    row,
)

SURNAME = "王"  # the seed draws its 196 surnames evenly; "王" also matches given names and employers
QUERY = urllib.parse.quote(SURNAME)
# (page, goal for page req/s ÷ /ping req/s, its path on a site, who asks: a Site attribute or nobody)
PUBLIC = [("certificate verification", 0.5, lambda site: f"/verify/{site.serial}", None),
          ("course page /courses/1", 0.3, lambda site: "/courses/1", "worker"),
          ("catalogue page 1 (a worker)", 0.35, lambda site: "/courses/", "worker"),
          ("anonymous home page", 0.35, lambda site: "/", None),
          ("verification's floor: its rate-limit count and standing read, nothing drawn", None,
           lambda site: f"/bench/verify-floor/{site.serial}", None),
          ("course page's floor: its log-in check and live read, nothing drawn", None,
           lambda site: "/bench/course-floor/1", "worker")]
# verification is rate-limited per address; wrk comes from one
SERVER_SETTINGS = {"CERTIFICATE_VERIFY_LIMIT": "100000000 per minute"}
LONGEST = [60]  # seconds: the longest round a slow page gets (--longest)


def bench_app():
    """The production app plus the physical floors of two pages, answered as a word of plain text: verification's
    (``/bench/verify-floor/<serial>``), what any look-up must do — count against the per-address budget (the
    same shared limit) and read the certificate's standing (the same indexed statement); the course page's
    (``/bench/course-floor/<id>``), who is signed in (the log-in cache) and the page's one live read of the
    course and the reader's part of it."""
    from flask import Blueprint
    from flask_login import current_user

    from classroom import create_app
    from courses.certificates import verification
    from courses.certificates.verify_views import verify_limit
    from courses.enrollment.page import read_live

    app = create_app()
    floor = Blueprint("bench_floor", __name__)

    @floor.route("/bench/verify-floor/<serial>")
    @verify_limit
    def verify_floor(serial: str):
        found = verification.standing(serial)
        return (found.status if found else "none"), 200, {"Content-Type": "text/plain; charset=utf-8"}

    @floor.route("/bench/course-floor/<int:course_id>")
    def course_floor(course_id: int):
        live = read_live(current_user._get_current_object(), course_id)
        return (live.status if live else "none"), 200, {"Content-Type": "text/plain; charset=utf-8"}

    app.register_blueprint(floor)
    return app


def build(url: str, workers: int) -> None:
    """The demo data, then ``workers`` more with hours, courses and certificates in proportion."""
    started = time.perf_counter()
    flask(url, "db", "upgrade")
    flask(url, "seed-demo", "--workers", "300")
    flask(url, "seed-scale", "--workers", str(workers), "--hours-per-worker", "2")
    seed_courses(url, workers // 100)
    fill_certificates(url, workers // 10)
    print(f"seeded {workers:,} workers in {time.perf_counter() - started:.0f} s", flush=True)


def fill_certificates(url: str, count: int) -> None:
    """``count`` more rows shaped like the first real certificate (new serials and tokens), so that
    look-ups search a table of realistic size; only real ones are verified."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        columns = connection.execute(sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                             "'certificate' AND column_name != 'id'")).scalars().all()
        made = {"serial": "'FILL-' || g", "year": "1999", "seq": "g", "token": "md5('fill' || g)", "user_id": "u.id",
                "enrollment_id": "NULL", "competition_entry_id": "NULL"}
        values = ", ".join(made.get(column, f"c.{column}") for column in columns)
        connection.execute(sa.text(  # column names from the catalogue, expressions constant
            f"INSERT INTO certificate ({', '.join(columns)}) SELECT {values} FROM generate_series(1, :n) g "  # noqa: S608
            "CROSS JOIN (SELECT * FROM certificate ORDER BY id LIMIT 1) c JOIN (SELECT id, row_number() OVER (ORDER "
            "BY id DESC) AS n FROM \"user\") u ON u.n = 1 + (g - 1) % (SELECT count(*) FROM \"user\")"), {"n": count})
        connection.execute(sa.text("ANALYZE certificate"))
    engine.dispose()


@dataclass
class Site:
    """One size: its database, server, meter, log-ins and the ids its paths name."""

    label: str
    url: str
    server: Server
    meter: Meter
    admin: str  # the city admin's cookie
    worker: str  # a worker's cookie
    city: int
    biggest: int  # the grassroots union with the most members
    biggest_members: int
    serial: str  # a real certificate's

    def get(self, path: str, cookie: str | None, seconds: int) -> Sample:
        return load(self.meter, self.server.base + path, seconds=seconds, cookie=cookie)


def open_site(label: str, url: str, server: Server) -> Site:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        city = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
        biggest, members = connection.execute(sa.text(
            "SELECT m.union_id, count(*) FROM membership m JOIN trade_union u ON u.id = m.union_id "
            "WHERE u.kind = 'grassroots' AND m.status = 'active' GROUP BY m.union_id ORDER BY 2 DESC LIMIT 1")).one()
        serial = connection.execute(sa.text("SELECT serial FROM certificate WHERE status = 'valid' AND serial NOT "
                                            "LIKE 'FILL-%' ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    return Site(label, url, server, Meter(url, server.workers), login_cookie(server.base, "13800000002"),
                login_cookie(server.base, "13800000006"), city, biggest, members, serial)


def deep_page(site: Site, path: str, pages: int = 50) -> str:
    """Page ``pages`` of a list: ?page=N while the pager numbers pages, else its "next" link followed."""
    page = fetch(site.server.base + path, site.admin)
    if re.search(r"[?&;]page=2\b", page):
        return f"{path}{'&' if '?' in path else '?'}page={pages}"
    for _ in range(pages - 1):
        found = re.search(r'<a[^>]*rel="next"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*rel="next"', page)
        if not found:
            raise RuntimeError(f"{path}: no page {pages} (neither ?page= nor a next link)")
        path = html.unescape(found.group(1) or found.group(2))
        page = fetch(site.server.base + path, site.admin)
    return path


def guarded(name: str, measure) -> list[dict]:
    """The rows of ``measure()``, or one row saying how it failed (the other pages still run)."""
    try:
        return measure()
    except (RuntimeError, urllib.error.URLError, subprocess.CalledProcessError) as error:
        print(f"  {name}: FAILED {error}", flush=True)
        return [row(name, f"error: {str(error).splitlines()[0][:120]}", met=False)]


def summary(samples: list[Sample]) -> str:
    return (f"{statistics.median(s.rate for s in samples):,.1f} req/s, "
            f"{statistics.median(s.cpu_each for s in samples) * 1000:.2f} ms CPU")


def sizes_row(name: str, result: Comparison, **options) -> dict:
    """The L/S row of a page, with S's and L's own medians kept for the summary table."""
    item = row(f"{name}: L/S of req/s", result.speed(), cpu=result.cpu(), **options)
    item["sizes"] = {label: [statistics.median(s.rate for s in side), statistics.median(s.cpu_each for s in side)]
                     for label, side in (("S", [s for s, _ in result.rounds]), ("L", [s for _, s in result.rounds]))}
    return item


def versus(small: Site, large: Site, name: str, paths: tuple[str, str], seconds: int, rounds: int) -> list[dict]:
    """One admin page on S and L in alternating rounds: L/S of req/s and of CPU per request. A slow
    page gets longer rounds (about 10 of its requests' time, at most 60 s), so each round completes
    some of them."""
    slowest = 0.0
    for site, path in zip((small, large), paths, strict=True):
        fetch(site.server.base + path, site.admin)
        started = time.perf_counter()
        fetch(site.server.base + path, site.admin)
        slowest = max(slowest, time.perf_counter() - started)
    seconds = min(LONGEST[0], max(seconds, math.ceil(10 * slowest)))
    print(f"  {name}: {seconds} s rounds (the slower side answered in {slowest:.2f} s)", flush=True)
    result = alternate(lambda: small.get(paths[0], small.admin, seconds),
                       lambda: large.get(paths[1], large.admin, seconds), rounds, (f"S {name}", f"L {name}"))
    return [sizes_row(name, result, target="≥ 0.8", note=f"{seconds} s rounds; paths {paths[0]} and {paths[1]}")]


def table(rows: list[dict]) -> str:
    """Markdown: for each page, S and L req/s and CPU per request, and L/S of both."""
    lines = ["| page | S req/s | L req/s | L/S req/s | S CPU ms/req | L CPU ms/req | L/S CPU |", "| --- |" + " ---: |" * 6]
    for item in rows:
        if "sizes" in item:
            (s_rate, s_cpu), (l_rate, l_cpu) = item["sizes"]["S"], item["sizes"]["L"]
            lines.append(f"| {item['measure'].removesuffix(': L/S of req/s')} | {s_rate:,.1f} | {l_rate:,.1f} | "
                         f"{item['value']} | {s_cpu * 1000:.2f} | {l_cpu * 1000:.2f} | {item['cpu']} |")
    return "\n".join(lines)


def admin_pages(small: Site, large: Site, args) -> list[dict]:
    rows = []
    for who in ("city", "biggest"):
        paths = [f"/unions/{getattr(site, who)}/members" for site in (small, large)]
        title = "city" if who == "city" else "biggest grassroots union"
        rows += guarded(f"{title} members p1", lambda p=paths, t=title: versus(
            small, large, f"{t} members, page 1", tuple(p), args.seconds, args.rounds))
        rows += guarded(f"{title} members p50", lambda p=paths, t=title: versus(
            small, large, f"{t} members, page 50", (deep_page(small, p[0]), deep_page(large, p[1])), args.seconds,
            args.rounds))
        rows += guarded(f"{title} members search", lambda p=paths, t=title: versus(
            small, large, f"{t} members, search ?q={SURNAME}", tuple(f"{path}?q={QUERY}" for path in p),
            args.seconds, args.rounds))
    return rows


def home_pages(small: Site, large: Site, args) -> list[dict]:
    return (guarded("city union page", lambda: versus(small, large, "city admin: the city's union page",
                                                      (f"/unions/{small.city}", f"/unions/{large.city}"),
                                                      args.seconds, args.rounds))
            + guarded("admin home", lambda: versus(small, large, "city admin: home page /", ("/", "/"),
                                                   args.seconds, args.rounds)))


def public_pages(small: Site, large: Site, args) -> list[dict]:
    """Each page ÷ /ping in its own server (S /ping, S page, L /ping, L page, again …); and its L/S."""
    rows = []
    for name, goal, path_of, role in PUBLIC:
        def measure(name=name, goal=goal, path_of=path_of, role=role) -> list[dict]:
            measures = {}
            for site in (small, large):
                path, cookie = path_of(site), getattr(site, role) if role else None
                fetch(site.server.base + path, cookie)
                measures[f"{site.label} /ping"] = lambda s=site, c=cookie: s.get("/ping", c, args.seconds)
                measures[f"{site.label} {path}"] = lambda s=site, p=path, c=cookie: s.get(p, c, args.seconds)
            s_ping, s_page, l_ping, l_page = interleave(measures, args.rounds).values()
            found = []
            for label, ping, page in (("S", s_ping, s_page), ("L", l_ping, l_page)):
                pair = Comparison(list(zip(ping, page, strict=True)))
                found.append(row(f"{name} ÷ /ping on {label}, req/s", pair.speed(), target=f"≥ {goal}" if goal else "",
                                 cpu=pair.cpu(), note=f"{summary(page)}; /ping {summary(ping)}"))
            return [*found, sizes_row(name, Comparison(list(zip(s_page, l_page, strict=True))))]
        rows += guarded(name, measure)
    return rows


def statements(small: Site, large: Site) -> list[dict]:
    """SQL statements of a warm request to / for each demo role, S and L."""
    counted = {site.label: json.loads(subprocess.run(
        [sys.executable, "-m", "benchmarks.statements", site.url, "/"], cwd=ROOT, env=app_env(site.url), check=True,
        capture_output=True, text=True).stdout) for site in (small, large)}
    return [row(f"SQL statements per request, home page, {role} (warm; first request in the note)",
                f"S {counted['S'][role]['/'][1]}, L {counted['L'][role]['/'][1]}", target="L = S",
                met=counted["S"][role]["/"][1] == counted["L"][role]["/"][1],
                note=f"first: S {counted['S'][role]['/'][0]}, L {counted['L'][role]['/'][0]}")
            for role in counted["S"]]


def hours(small: Site, large: Site, rounds: int) -> list[dict]:
    """The city hours report with no cache (as the demo's site admin) ÷ the plain GROUP BY, on S and L."""
    rows = []
    for site in (small, large):
        city, admin, year = hours_report.existing(site.url)
        hours_report.set_city_target(site.url, 40)
        found = hours_report.compare(site.url, city, admin, year, cache_seconds=0, rounds=rounds)
        result = found["comparison"]
        rows.append(row(f"city hours report, no cache, ÷ plain GROUP BY, time per request, {site.label}",
                        result.time(), target="≤ 0.05", cpu=result.cpu(),
                        note=f"figures identical: {found['same']}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--longest", type=int, default=60, help="the longest round for a slow page, seconds")
    parser.add_argument("--keep", action="store_true", help="keep both databases (printed at the end)")
    parser.add_argument("--reuse", nargs=2, metavar=("S_DATABASE", "L_DATABASE"))
    parser.add_argument("--only", default="members,home,public,statements,hours")
    args = parser.parse_args()
    parts, reuse = args.only.split(","), args.reuse or (None, None)
    LONGEST[0] = args.longest
    with database("scale_s", reuse=reuse[0], keep=args.keep) as small_url, \
            database("scale_l", reuse=reuse[1], keep=args.keep) as large_url:
        if not args.reuse:
            build(small_url, args.small)
            build(large_url, args.large)
        rows = []
        with gunicorn(small_url, target="benchmarks.scale:bench_app()", **SERVER_SETTINGS) as small_server, \
                gunicorn(large_url, target="benchmarks.scale:bench_app()", **SERVER_SETTINGS) as large_server:
            small, large = open_site("S", small_url, small_server), open_site("L", large_url, large_server)
            print(f"S: {args.small:,} workers, biggest grassroots union {small.biggest_members:,} members; "
                  f"L: {args.large:,} workers, biggest {large.biggest_members:,}", flush=True)
            for part, measure in (("members", admin_pages), ("home", home_pages), ("public", public_pages)):
                if part in parts:
                    rows += measure(small, large, args)
        if "statements" in parts:
            rows += guarded("statements", lambda: statements(small, large))
        if "hours" in parts:
            rows += hours(small, large, args.rounds)
    record("scale", rows)
    (OUT / "scale.md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()

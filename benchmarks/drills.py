"""An online round (issue 21): 2,000 entrants start a mock exam at the same minute, then save 20,000 answers one
at a time, over HTTP against gunicorn on PostgreSQL; afterwards the database is checked: no lost answer (every
save answered 2xx is stored, as sent) and no 5xx. Then the rate of saving one answer is measured against a bare
POST of the same app and server, in alternating rounds.

    .venv/bin/python -m benchmarks.drills [--entrants 2000] [--seconds 10] [--rounds 5] [--workers 4]

The hot path measured is the JSON API's (``PUT /api/v1/drill-attempts/{id}/answers/{number}``, a worker's
bearer token): the phones' door, one answer per request, as the union's app saves while the worker goes. The
pages' per-answer route (``/drills/mock/attempts/<id>/answer``) calls the same service (``mock.save_answers``).
The baseline is ``POST /api/v1/bench/post``, added to the app for this run only (``bench_app``): a JSON body
read and answered under /api/ (the API's edge hooks), with no credentials and no database. Beside them, the
physical floor: the same upsert sent bare over one psycopg connection, committed each time.

Target: a save ≥ 0.3 × the bare POST's req/s. The rate limit per credential is lifted for the run (one token per
entrant is far below it, but wrk's rounds are not); the limiter still counts every request, in Redis.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import (
    ROOT,
    Comparison,
    Meter,
    Sample,
    app_env,
    database,
    describe,
    flask,
    gunicorn,
    interleave,
    record,
    row,
)

SETTINGS = {"API_RATE_LIMIT": "100000000 per minute", "API_ACCESS_TOKEN_SECONDS": "7200"}
BLUEPRINT = [{"kind": "single", "count": 4, "points": 2}, {"kind": "multiple", "count": 3, "points": 2},
             {"kind": "true_false", "count": 2, "points": 1}, {"kind": "blank", "count": 1, "points": 2}]
BARE = "/api/v1/bench/post"


def bench_app():
    """The production app plus a bare POST under /api/ (the baseline): gunicorn's target for this run."""
    from flask import Blueprint, request

    from classroom import create_app
    from classroom.extensions import csrf

    app = create_app()
    bare = Blueprint("bench_bare", __name__)

    @bare.route(BARE, methods=["POST"])
    def bare_post():
        return {"status": "ok", "size": len(request.get_json(silent=True) or {})}

    csrf.exempt(bare)
    app.register_blueprint(bare)
    return app


def prepare(entrants: int, out: str) -> None:
    """In the app (run as a command): a city-wide bank of 400 questions, a mock exam drawn by BLUEPRINT (10
    questions, 120 minutes), and an access token for each of ``entrants`` members; written to ``out``."""
    from sqlalchemy import select

    from classroom import create_app
    from classroom.accounts.models import User
    from classroom.api.tokens import open_device
    from classroom.database import utcnow
    from classroom.extensions import db
    from classroom.unions.models import Membership, MembershipStatus, TradeUnion
    from courses.drills.banks import apply
    from courses.drills.models import MockExam, QuestionBank

    app = create_app()
    with app.app_context():
        now = utcnow()
        root = db.session.scalars(select(TradeUnion).where(TradeUnion.parent_id.is_(None))).one()
        bank = QuestionBank(union_id=root.id, title="安全生产知识竞赛题库", trade=None, created_at=now)
        db.session.add(bank)
        db.session.flush()
        apply(bank, [(question(n), None) for n in range(400)], now=now)
        exam = MockExam(bank_id=bank.id, title="安全生产理论考试", minutes=120, pass_score=60, blueprint=BLUEPRINT,
                        created_at=now)
        db.session.add(exam)
        people = list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                         .where(Membership.status == MembershipStatus.ACTIVE)
                                         .order_by(User.id.desc()).limit(entrants)))
        tokens = [open_device(person, "压测手机", ip=None, now=now).access_token for person in people]
        db.session.commit()
        Path(out).write_text(json.dumps({"exam_id": exam.id, "tokens": tokens}))


def question(n: int) -> dict:
    kind = ["single", "multiple", "true_false", "blank"][n % 4]
    return {"code": f"AQ{n:04d}", "kind": kind, "text": f"安全生产第{n}题", "difficulty": 1 + n % 3,
            "options": ["甲", "乙", "丙", "丁"] if kind in ("single", "multiple") else [],
            "answer": [["三级", "3"]] if kind == "blank" else [0, 2] if kind == "multiple" else [n % 2],
            "explanation": "依据《安全生产法》。", "tags": ["安全生产"]}


def call(base: str, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict | None, float]:
    """One API request: (status, JSON body or None, seconds); a refused connection is status 0."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback
            return response.status, json.load(response), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, None, time.perf_counter() - started
    except OSError:
        return 0, None, time.perf_counter() - started


def start_all(base: str, exam_id: int, tokens: list[str]) -> tuple[Counter, dict[str, dict], list[float], float]:
    """Every entrant starts at once (one thread each, behind a barrier): statuses, papers by token, latencies."""
    threading.stack_size(256 * 1024)
    barrier, statuses = threading.Barrier(len(tokens)), Counter[int]()
    papers: dict[str, dict] = {}
    seconds: list[float] = []

    def start(token: str) -> None:
        barrier.wait()
        status, body, took = call(base, "POST", f"/api/v1/drill-exams/{exam_id}/attempts", token)
        statuses[status] += 1
        seconds.append(took)
        if status == 201 and body:
            papers[token] = body

    threads = [threading.Thread(target=start, args=(token,)) for token in tokens]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, papers, seconds, time.perf_counter() - began


def answer_for(item: dict, rng: random.Random) -> dict:
    if item["kind"] == "blank":
        return {"blanks": [rng.choice(["三级", "二级", "3"])]}
    if item["kind"] == "multiple":
        return {"choices": sorted(rng.sample(range(1, 5), rng.randint(1, 3)))}
    return {"choices": [rng.randint(1, len(item["options"]))]}


def save_all(base: str, papers: dict[str, dict], concurrency: int) -> tuple[Counter, dict, list[float], float]:
    """Every question of every paper answered, one request each, ``concurrency`` at a time, in a shuffled
    order: statuses, {(attempt id, number): body} of the 2xx saves, latencies, wall seconds."""
    rng = random.Random(2026)
    jobs = [(token, paper["id"], item["number"], answer_for(item, rng)) for token, paper in papers.items()
            for item in paper["questions"]]
    rng.shuffle(jobs)
    statuses, lock = Counter[int](), threading.Lock()
    kept: dict[tuple[int, int], dict] = {}
    seconds: list[float] = []

    def save(job) -> None:
        token, attempt_id, number, body = job
        status, _answer, took = call(base, "PUT", f"/api/v1/drill-attempts/{attempt_id}/answers/{number}", token,
                                     body)
        with lock:
            statuses[status] += 1
            seconds.append(took)
            if 200 <= status < 300:
                kept[(attempt_id, number)] = body

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(save, jobs))
    return statuses, kept, seconds, time.perf_counter() - began


def lost_answers(url: str, kept: dict) -> tuple[int, int]:
    """(2xx saves not stored as sent, rows stored) — read from the database after the load."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        papers = {row[0]: row[1] for row in connection.execute(sa.text("SELECT id, paper FROM drill_mock_attempt"))}
        stored = {(row[0], row[1]): row[2] for row in connection.execute(sa.text(
            "SELECT attempt_id, version_id, answer FROM drill_mock_answer"))}
    engine.dispose()
    lost = 0
    for (attempt_id, number), body in kept.items():
        version_id = papers[attempt_id][number - 1][0]
        expected = body["blanks"] if "blanks" in body else [choice - 1 for choice in body["choices"]]
        lost += stored.get((attempt_id, version_id)) != expected
    return lost, len(stored)


LUA = """
local saves = %s
local i = 0
request = function()
  i = i %% #saves + 1
  local s = saves[i]
  return wrk.format("PUT", s[1], {["Authorization"] = "Bearer " .. s[2], ["Content-Type"] = "application/json"}, s[3])
end
"""
BARE_LUA = """
wrk.method = "POST"
wrk.body = '{"choices": [2]}'
wrk.headers["Content-Type"] = "application/json"
"""


def saves_script(papers: dict[str, dict], folder: str) -> str:
    """A wrk script cycling through every paper's questions (each request a save of its own token)."""
    entries = [f'{{"/api/v1/drill-attempts/{paper["id"]}/answers/{number}", "{token}", \'{{"choices": [1]}}\'}}'
               for token, paper in papers.items()
               for number in [item["number"] for item in paper["questions"] if item["kind"] != "blank"][:3]]
    path = Path(folder) / "saves.lua"
    path.write_text(LUA % ("{" + ",\n".join(entries) + "}"))
    return str(path)


def script_wrk(url: str, script: str, seconds: int) -> int:
    """Requests wrk completed with a Lua script; any non-2xx answer or socket error fails loudly."""
    done = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "60s", "-s", script, url],  # noqa: S607
                          capture_output=True, text=True)
    if done.returncode or "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"errors from {url}: {done.stderr.strip()} {done.stdout}")
    return int(done.stdout.split(" requests in")[0].split()[-1])


def measure(meter: Meter, url: str, script: str, seconds: int) -> Sample:
    with meter.span() as sample:
        sample.count = script_wrk(url, script, seconds)
    return sample


def floor(url: str, papers: dict[str, dict], meter: Meter, seconds: float) -> Sample:
    """The physical floor: the save's upsert, bare, over one connection, committed each time."""
    engine = sa.create_engine(url)
    targets = [(paper["id"], item["number"]) for paper in papers.values() for item in paper["questions"]][:2000]
    with engine.connect() as connection:
        versions = {row[0]: row[1] for row in connection.execute(sa.text("SELECT id, paper FROM drill_mock_attempt"))}
    statement = sa.text("INSERT INTO drill_mock_answer (attempt_id, version_id, answer, saved_at) "
                        "VALUES (:a, :v, CAST(:answer AS JSON), now()) ON CONFLICT (attempt_id, version_id) "
                        "DO UPDATE SET answer = excluded.answer, saved_at = excluded.saved_at")
    with engine.connect() as connection, meter.span() as sample:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            attempt_id, number = targets[int(sample.count) % len(targets)]
            connection.execute(statement, {"a": attempt_id, "v": versions[attempt_id][number - 1][0],
                                           "answer": "[0]"})
            connection.commit()
            sample.count += 1
    engine.dispose()
    return sample


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))] if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entrants", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)  # the README's production command: 4 sync workers
    parser.add_argument("--concurrency", type=int, default=200, help="saves in flight at once")
    args = parser.parse_args()
    with database("drills") as url, tempfile.TemporaryDirectory() as folder:
        flask(url, "db", "upgrade")
        flask(url, "seed-demo", "--workers", "300")
        flask(url, "seed-scale", "--workers", str(args.entrants))
        out = str(Path(folder) / "round.json")
        subprocess.run([sys.executable, "-c", f"from benchmarks.drills import prepare; prepare({args.entrants}, "
                        f"{out!r})"], env=app_env(url, **SETTINGS), cwd=ROOT, check=True)
        prepared = json.loads(Path(out).read_text())
        with gunicorn(url, workers=args.workers, target="benchmarks.drills:bench_app()",
                      API_RATE_LIMIT=SETTINGS["API_RATE_LIMIT"],
                      API_ACCESS_TOKEN_SECONDS=SETTINGS["API_ACCESS_TOKEN_SECONDS"]) as server:
            rows = run_round(server, url, prepared, args, folder)
    record("drills", rows)


def run_round(server, url: str, prepared: dict, args, folder: str) -> list[dict]:
    tokens = prepared["tokens"]
    print(f"entrants: {len(tokens):,}, gunicorn: {args.workers} sync workers, paper of 10 questions", flush=True)
    started, papers, start_seconds, start_wall = start_all(server.base, prepared["exam_id"], tokens)
    print(f"starts: {dict(started)} in {start_wall:.1f} s; latency median {statistics.median(start_seconds):.2f} s, "
          f"p95 {percentile(start_seconds, 0.95):.2f} s", flush=True)
    saved, kept, save_seconds, save_wall = save_all(server.base, papers, args.concurrency)
    lost, stored = lost_answers(url, kept)
    errors = sum(count for status, count in (started + saved).items() if status >= 500 or status == 0)
    print(f"saves: {dict(saved)} in {save_wall:.1f} s ({sum(saved.values()) / save_wall:.0f}/s); latency median "
          f"{statistics.median(save_seconds) * 1000:.0f} ms, p95 {percentile(save_seconds, 0.95) * 1000:.0f} ms; "
          f"stored rows {stored:,}, lost {lost}", flush=True)
    script = saves_script(papers, folder)
    bare_script = str(Path(folder) / "bare.lua")
    Path(bare_script).write_text(BARE_LUA)
    script_wrk(server.base + BARE, bare_script, 3)  # warm up both
    script_wrk(server.base + "/", script, 3)
    meter = Meter(url, server.workers)
    samples = interleave({
        "bare POST": lambda: measure(meter, server.base + BARE, bare_script, args.seconds),
        "answer save": lambda: measure(meter, server.base + "/", script, args.seconds),
        "floor": lambda: floor(url, papers, Meter(url, own=True), args.seconds),
    }, args.rounds)
    save = Comparison(list(zip(samples["bare POST"], samples["answer save"], strict=True)))
    to_floor = Comparison(list(zip(samples["floor"], samples["answer save"], strict=True)))
    print(f"answer save ÷ bare POST, req/s: {save.speed()} (CPU per request {save.cpu()}); "
          f"÷ floor: {to_floor.speed()}")
    medians = {name: describe(Sample(rate := statistics.median(s.rate for s in values), 1.0,
                                     rate * statistics.median(s.cpu_each for s in values)))
               for name, values in samples.items()}
    return [
        row(f"round over HTTP: {len(tokens):,} starts at once, then {sum(saved.values()):,} answer saves — "
            f"5xx or refused connections, answers lost (2xx saves not stored as sent)", f"{errors}, {lost}",
            target="0, 0", met=not errors and not lost and started[201] == len(tokens),
            note=f"starts {dict(started)} in {start_wall:.1f} s (p95 {percentile(start_seconds, 0.95):.1f} s); "
                 f"saves {dict(saved)} in {save_wall:.1f} s, p95 {percentile(save_seconds, 0.95) * 1000:.0f} ms"),
        row("API answer save (PUT /api/v1/drill-attempts/{id}/answers/{n}, a worker's token, 2,000 papers) "
            "÷ bare POST under /api/, req/s", save.speed(), target="≥ 0.3", cpu=save.cpu(),
            note=f"save {medians['answer save']}; bare POST {medians['bare POST']}"),
        row("API answer save ÷ its physical floor (the same upsert over one psycopg connection, committed each), "
            "req/s", to_floor.speed(), cpu=to_floor.cpu(), note=f"floor {medians['floor']}"),
    ]


if __name__ == "__main__":
    main()

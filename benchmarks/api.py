"""The API's first catalogue page (GET /api/v1/courses, a worker's bearer token) vs the API's bare JSON endpoint
(GET /api/v1/ping: no credentials, no database) of the same app under the same gunicorn, 10,000 published courses
on PostgreSQL; the site's /ping (plain text, outside the API) is measured beside them for reference.

    .venv/bin/python -m benchmarks.api [--courses 10000] [--seconds 10] [--rounds 5]

Target: /api/v1/courses req/s ÷ /api/v1/ping req/s ≥ 0.5. The endpoints run in alternating rounds (ping, courses,
/ping, ping, courses, /ping …) and the result is the median of the rounds' ratios with their range, as every
benchmark here measures (benchmarks/README.md). The rate limit per credential is lifted for the run (wrk would
exceed it at once); the limiter itself still counts every request, in Redis as in production.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import urllib.request

from benchmarks.catalogue import seed_courses
from benchmarks.common import PASSWORD, Comparison, Meter, Sample, database, flask, gunicorn, interleave, record, row

WORKER = "13800000006"  # a demo worker (flask seed-demo)


def sign_in(base: str) -> str:
    """A worker's access token from the API's own sign-in."""
    body = json.dumps({"mobile": WORKER, "password": PASSWORD, "device_name": "benchmark"}).encode()
    request = urllib.request.Request(base + "/api/v1/auth/token", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return json.load(response)["access_token"]


def fetch_json(url: str, token: str | None = None) -> dict:
    """One GET that must answer 200 with JSON (a problem document would fool wrk's count)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        return json.load(response)


def bearer_wrk(url: str, token: str | None, *, seconds: int) -> int:
    """Requests wrk completed with the Authorization header (common.wrk sends cookies only); any non-2xx
    answer or socket error fails loudly, as there."""
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "60s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run([*command, url], capture_output=True, text=True)  # noqa: S603 - fixed arguments
    if done.returncode or "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"errors from {url}: {done.stderr.strip()} {done.stdout}")
    return int(done.stdout.split(" requests in")[0].split()[-1])


def measure(meter: Meter, url: str, token: str | None, seconds: int) -> Sample:
    with meter.span() as sample:
        sample.count = bearer_wrk(url, token, seconds=seconds)
    return sample


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)  # the README's production command: 4 sync workers
    args = parser.parse_args()
    with database("api") as url:
        flask(url, "db", "upgrade")
        flask(url, "seed-demo", "--workers", "300")
        seed_courses(url, args.courses)
        with gunicorn(url, workers=args.workers, API_RATE_LIMIT="100000000 per minute",
                      API_ACCESS_TOKEN_SECONDS="3600") as server:
            token = sign_in(server.base)
            first = fetch_json(server.base + "/api/v1/courses", token)
            assert len(first["items"]) == 20 and first["next_cursor"], first
            assert fetch_json(server.base + "/api/v1/ping") == {"status": "ok"}
            bearer_wrk(server.base + "/api/v1/courses", token, seconds=3)  # warm up
            meter = Meter(url, server.workers)
            print(f"courses: {args.courses:,}, gunicorn: {args.workers} sync workers, wrk: 2 threads, "
                  f"8 connections, {args.rounds} rounds of {args.seconds} s per endpoint")
            samples = interleave({
                "/api/v1/ping": lambda: measure(meter, server.base + "/api/v1/ping", None, args.seconds),
                "/api/v1/courses": lambda: measure(meter, server.base + "/api/v1/courses", token, args.seconds),
                "/ping": lambda: measure(meter, server.base + "/ping", None, args.seconds),
            }, args.rounds)
    api = Comparison(list(zip(samples["/api/v1/ping"], samples["/api/v1/courses"], strict=True)))
    site = Comparison(list(zip(samples["/ping"], samples["/api/v1/courses"], strict=True)))
    machinery = Comparison(list(zip(samples["/ping"], samples["/api/v1/ping"], strict=True)))
    print(f"/api/v1/courses ÷ /api/v1/ping, req/s: {api.speed()} (CPU per request {api.cpu()})")
    print(f"/api/v1/courses ÷ /ping, req/s: {site.speed()}; /api/v1/ping ÷ /ping: {machinery.speed()}")
    record("api", [
        row(f"API courses page 1 ÷ /api/v1/ping, req/s ({args.courses:,} courses, a worker's token)", api.speed(),
            target="≥ 0.5", cpu=api.cpu()),
        row("API courses page 1 ÷ /ping (plain text, outside the API), req/s", site.speed(), cpu=site.cpu()),
        row("/api/v1/ping ÷ /ping (the API's own machinery), req/s", machinery.speed(), cpu=machinery.cpu())])


if __name__ == "__main__":
    main()

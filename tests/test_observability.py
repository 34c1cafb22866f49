"""Operations (issue 18): /metrics (each series, the refusal without credentials, gunicorn's workers summed
through PROMETHEUS_MULTIPROC_DIR) and request ids with JSON-lines logs."""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import timedelta

import pytest

from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import OutboundMessage, SchedulerLease

TOKEN = "metrics-token-for-tests"


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one series in a Prometheus text answer (None when it is absent)."""
    for line in text.splitlines():
        found = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if found and found[1] == name and dict(re.findall(r'(\w+)="([^"]*)"', found[2] or "")) == labels:
            return float(found[3])
    return None


def scrape(client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.get_data(as_text=True)


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN}


def test_metrics_are_refused_without_the_configured_credentials(app, client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    app.config.update(METRICS_TOKEN=None)
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404  # none set: no page


def test_metrics_take_basic_credentials(app, client):
    app.config.update(METRICS_TOKEN=None, METRICS_USERNAME="prometheus", METRICS_PASSWORD="s3cret")
    good = base64.b64encode(b"prometheus:s3cret").decode()
    bad = base64.b64encode(b"prometheus:guess").decode()
    assert client.get("/metrics", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    answer = client.get("/metrics", headers={"Authorization": f"Basic {good}"})
    assert answer.status_code == 200 and "classroom_outbox_queued" in answer.get_data(as_text=True)


def test_request_latency_by_endpoint_and_server_errors(app, client, monkeypatch):
    before = sample(scrape(client), "classroom_request_seconds_count", endpoint="main.healthz", method="GET") or 0
    for _ in range(3):
        client.get("/healthz")
    text = scrape(client)
    assert sample(text, "classroom_request_seconds_count", endpoint="main.healthz", method="GET") == before + 3
    assert sample(text, "classroom_request_seconds_bucket", endpoint="main.healthz", method="GET", le="+Inf") \
        == before + 3

    def boom():
        raise RuntimeError("boom")

    monkeypatch.setattr("classroom.main.views.health_report", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    errors = sample(text, "classroom_request_errors_total", endpoint="main.healthz", status="500") or 0
    assert client.get("/healthz").status_code == 500
    assert sample(scrape(client), "classroom_request_errors_total", endpoint="main.healthz", status="500") == errors + 1


def test_login_failures_are_counted(client, make_user, tree):
    make_user(union=tree.a1, mobile="13900000001")
    before = sample(scrape(client), "classroom_login_failures_total") or 0
    client.post("/auth/login", data={"identifier": "13900000001", "password": "wrong-password"})
    client.post("/auth/login", data={"identifier": "13900009999", "password": "wrong-password"})
    assert sample(scrape(client), "classroom_login_failures_total") == before + 2


def test_outbox_depth_and_the_oldest_messages_age(client, make_user, tree):
    text = scrape(client)
    assert sample(text, "classroom_outbox_queued") == 0 and sample(text, "classroom_outbox_oldest_age_seconds") == 0
    person = make_user(union=tree.a1)
    now = utcnow()
    for n, age in enumerate((600, 30)):
        db.session.add(OutboundMessage(user_id=person.id, channel="email", kind="test", dedup_key=f"m{n}",
                                       created_at=now - timedelta(seconds=age), next_attempt_at=now))
    db.session.add(OutboundMessage(user_id=person.id, channel="email", kind="test", dedup_key="sent", status="sent",
                                   created_at=now - timedelta(days=3), next_attempt_at=now))
    text = scrape(client)
    assert sample(text, "classroom_outbox_queued") == 2
    assert 600 <= sample(text, "classroom_outbox_oldest_age_seconds") < 660


def test_scheduler_leader(client):
    assert sample(scrape(client), "classroom_scheduler_has_leader") == 0
    db.session.add(SchedulerLease(name="scheduler", holder="h:1", expires_at=utcnow() + timedelta(seconds=30)))
    text = scrape(client)
    assert sample(text, "classroom_scheduler_has_leader") == 1
    assert 20 < sample(text, "classroom_scheduler_lease_seconds_left") <= 30


def test_every_answer_carries_a_request_id_and_a_sane_incoming_one_is_kept(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    kept = client.get("/healthz", headers={"X-Request-ID": "nginx-4f2a.9:1"})
    assert kept.headers["X-Request-ID"] == "nginx-4f2a.9:1"
    for insane in ("a b", "x" * 129, "<script>", "é"):
        answer = client.get("/healthz", headers={"X-Request-ID": insane})
        assert answer.headers["X-Request-ID"] != insane and re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    refused = client.get("/healthz?q=%00", headers={"X-Request-ID": "refused-1"})  # refused before any view
    assert refused.status_code == 400 and refused.headers["X-Request-ID"] == "refused-1"


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": TOKEN, "LOG_FORMAT": "json"}])
def test_json_lines_name_the_request_id(app, client, caplog):
    from classroom.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="classroom.access")
    answer = client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    [record] = [r for r in caplog.records if r.name == "classroom.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-123" == answer.headers["X-Request-ID"]
    assert (line["method"], line["path"], line["status"], line["endpoint"]) == ("GET", "/healthz", 200, "main.healthz")
    assert line["level"] == "INFO" and isinstance(line["ms"], float) and "\n" not in JsonFormatter().format(record)
    with app.test_request_context(headers={"X-Request-ID": "inner-7"}):
        app.preprocess_request()
        record = logging.LogRecord("classroom.x", logging.ERROR, __file__, 1, "failed %s", ("视频",), None)
        line = json.loads(JsonFormatter().format(record))
    assert (line["request_id"], line["message"], line["level"]) == ("inner-7", "failed 视频", "ERROR")


@pytest.mark.slow
def test_gunicorn_workers_counts_are_summed_and_a_killed_workers_stay(tmp_path, sqlite_template):
    """Two gunicorn workers under gunicorn.conf.py: each scrape, whichever worker answers, counts every
    request of both; a worker killed with SIGKILL is replaced (child_exit) and its counts still add up."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from tests.test_reminders import free_port
    from tests.test_scheduler_processes import ROOT, wait_for

    shutil.copy(sqlite_template, tmp_path / "app.db")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's file: emptied at start
    port = free_port()
    env = {**os.environ, "CLASSROOM_ENV": "testing", "CLASSROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
           "CLASSROOM_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "CLASSROOM_INSTANCE_PATH": str(tmp_path), "WEB_CONCURRENCY": "2"}
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--no-control-socket", "--bind", f"127.0.0.1:{port}",
                                "classroom:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)

    def get(path: str, headers: dict | None = None) -> tuple[int, str, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode(), dict(answer.headers)

    def healthz_count() -> float | None:
        body = get("/metrics", {"Authorization": f"Bearer {TOKEN}"})[1]
        return sample(body, "classroom_request_seconds_count", endpoint="main.healthz", method="GET")

    try:
        wait_for(lambda: _answers(get), 60)
        histogram_pids = lambda: {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("histogram_*.db")}  # noqa: E731
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while len(histogram_pids()) < 2 and sent < 2000:  # until both workers have served
                statuses = list(pool.map(lambda _n: get("/healthz")[0], range(40)))
                assert statuses == [200] * 40
                sent += 40
        pids = histogram_pids()
        assert len(pids) == 2, pids  # both workers served (and wrote their own files)
        assert not (metrics_dir / "counter_1.db").exists()
        [before] = {healthz_count() for _ in range(6)}  # the same sum, whichever worker answers
        assert before >= sent
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lambda _n: get("/healthz")[0], range(40))) == [200] * 40
        [total] = {healthz_count() for _ in range(6)}
        assert total == before + 40
        os.kill(min(pids), signal.SIGKILL)
        wait_for(lambda: "Booting worker" in (tmp_path / "gunicorn.log").read_text().split("SIGKILL")[-1], 30)
        assert get("/healthz")[0] == 200
        assert {healthz_count() for _ in range(4)} == {total + 1}  # the dead worker's requests still count
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)  # gunicorn's graceful stop lasts up to its own 30 s timeout: more on a loaded machine
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()
    assert "Traceback" not in Path(tmp_path / "gunicorn.log").read_text()



def _answers(get) -> bool:
    try:
        return get("/healthz")[0] == 200
    except OSError:
        return False

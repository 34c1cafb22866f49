"""The job queue (issue 18): eager without Redis; on Redis an RQ worker runs the member import, and a
worker killed with SIGKILL in the middle of the import's commit leaves nothing written: RQ retries the job
(once the dead run's heartbeat lapses) and the retried run writes every row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from classroom import queue
from classroom.accounts.models import Invitation, User
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.unions.import_models import ImportJob
from classroom.unions.models import Membership, TradeUnion
from tests.conftest import redis_url_or_skip
from tests.factories import login_client
from tests.test_member_import import count, import_via_web, job_id_of, people, upload, write_csv
from tests.test_observability import TOKEN, sample

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN}


def test_without_redis_the_queue_is_eager(app, tree, make_admin, tmp_path, client):
    assert queue.is_eager() and queue.depths() == {}
    scrape = lambda: client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)  # noqa: E731
    before = sample(scrape(), "classroom_queue_job_runs_total", task="member_import.commit", outcome="done") or 0
    admin_client = login_client(app, make_admin(tree.a1))
    job = import_via_web(admin_client, tree.a1, write_csv(tmp_path / "m.csv", people(3)))
    assert job.status == "done" and count(Membership) == 3  # ran inline, before the answer
    assert sample(scrape(), "classroom_queue_job_runs_total", task="member_import.commit", outcome="done") == before + 1
    with pytest.raises(KeyError):
        queue.enqueue("no.such.task")


@pytest.fixture
def redis_queue(app):
    """This test's own queue on the test Redis, emptied afterwards."""
    app.config.update(QUEUE_URL=redis_url_or_skip(), QUEUE_NAME=f"test-{uuid.uuid4().hex[:10]}",
                      QUEUE_RETRY_INTERVALS=[1, 1, 1])
    rq_queue = queue.rq_queue(app)
    yield rq_queue
    connection = queue.connection(app)
    for key in connection.scan_iter(f"*{rq_queue.name}*"):
        connection.delete(key)


def worker_process(app, tmp_path: Path, name: str) -> subprocess.Popen:
    """RQ's own `rq worker` on the test queue, in a session of its own (the work-horse is its child)."""
    env = {**os.environ, "CLASSROOM_ENV": "testing", "CLASSROOM_DATABASE_URL": app.config["DATABASE_URL"],
           "CLASSROOM_QUEUE_URL": app.config["QUEUE_URL"], "CLASSROOM_QUEUE_NAME": app.config["QUEUE_NAME"],
           "CLASSROOM_QUEUE_RETRY_INTERVALS": "[1, 1, 1]", "CLASSROOM_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
           "CLASSROOM_INSTANCE_PATH": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen([str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler", "--path", str(ROOT),
                             "--job-monitoring-interval", "1", "--maintenance-interval", "2", "--worker-ttl", "20", "-u",
                             app.config["QUEUE_URL"], "--name", f"{name}-{uuid.uuid4().hex[:6]}", app.config["QUEUE_NAME"]],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def lapse_heartbeats(rq_queue) -> None:
    """Age what a dead worker leaves behind as RQ's clocks would: its started jobs' heartbeats (a sweep takes a
    job for abandoned job-monitoring-interval + 60 s after its last beat) and its scheduler's lock on the queue
    (interval + 60 s; the retry is a delayed job, moved to the queue by whichever scheduler holds the lock).
    The suite ages them rather than waiting a minute; the live worker's own sweep and scheduler still find
    and retry the job."""
    from rq.scheduler import SCHEDULER_LOCKING_KEY_TEMPLATE

    registry, connection = rq_queue.started_job_registry, rq_queue.connection
    entries = connection.zrange(registry.key, 0, -1)
    assert entries, "no started job to lapse"
    connection.zadd(registry.key, {entry: 1 for entry in entries}, xx=True)
    connection.delete(SCHEDULER_LOCKING_KEY_TEMPLATE % rq_queue.name)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def imported() -> int:
    """People the import brought (their mobiles start 1370), each with one membership."""
    people_count = db.session.scalar(select(func.count()).select_from(User).where(User.mobile.like("1370%")))
    memberships = db.session.scalar(select(func.count()).select_from(Membership).join(User, Membership.user_id == User.id)
                                    .where(User.mobile.like("1370%")))
    assert people_count == memberships
    return people_count


def fresh(job_id: int) -> ImportJob:
    db.session.rollback()
    return db.session.get_one(ImportJob, job_id, populate_existing=True)


def wait_until(condition, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{log.read_text()[-3000:]}" if log else ""))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server to kill a client of
def test_a_worker_killed_mid_import_leaves_it_to_a_retry_that_writes_every_row_once(app, tree, make_admin, tmp_path,
                                                                                      redis_queue):
    from rq.job import Job

    total = 12_000
    client = login_client(app, make_admin(tree.a1))
    first = worker_process(app, tmp_path, "first")
    try:
        job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "big.csv", people(total))))
        assert fresh(job_id).status == "validating"  # queued: the answer came before the run
        wait_until(lambda: fresh(job_id).status == "ready", 120, "the preview", tmp_path / "first.log")
        client.post(f"/unions/{tree.a1.id}/imports/{job_id}/commit")
        wait_until(lambda: (job := fresh(job_id)).phase == "writing" and job.processed >= 3000, 120,
                   "the commit to write 3,000 rows", tmp_path / "first.log")
        horses = children(first.pid)
        assert horses, "no work-horse runs the job"
        for pid in [*horses, first.pid]:  # the host is gone: the worker and the job's process, at once
            os.kill(pid, signal.SIGKILL)
        first.wait(10)
        assert fresh(job_id).status == "running", "the import finished before it could be killed"
        wait_until(lambda: imported() == 0, 10, "PostgreSQL to roll the dead run back")
        assert (imported(), count(Invitation)) == (0, 0)
        [started_id] = redis_queue.started_job_registry.get_job_ids()
        rq_job = Job.fetch(started_id, connection=redis_queue.connection)
        assert rq_job.retries_left == 3
        lapse_heartbeats(redis_queue)

        second = worker_process(app, tmp_path, "second")  # RQ finds the abandoned job once its heartbeat lapses
        try:
            wait_until(lambda: fresh(job_id).status == "done", 240, "the retried import", tmp_path / "second.log")
            rq_job.refresh()
            wait_until(lambda: rq_job.get_status(refresh=True) == "finished", 30, "RQ to mark the job finished")
            assert rq_job.retries_left == 2  # retried once, by RQ
            # a second delivery of the same task (an admin's "run again" beside RQ's retry) changes nothing
            queue.enqueue("member_import.commit", job_id)
            wait_until(lambda: redis_queue.count == 0 and not redis_queue.started_job_registry.count, 60,
                       "the duplicate to run")
            time.sleep(0.5)
        finally:
            stop(second)
    finally:
        stop(first)
    db.session.rollback()
    assert (imported(), count(Invitation)) == (total, total)
    numbers = db.session.scalars(select(Membership.member_no).where(Membership.member_no.is_not(None))).all()
    assert sorted(numbers) == [f"A1-{n:06d}" for n in range(1, total + 1)]
    assert db.session.get(TradeUnion, tree.a1.id).member_seq == total
    welcomes = select(func.count()).select_from(Notification).where(Notification.kind == "member_import.welcome")
    assert db.session.scalar(welcomes) == total  # one welcome each: the duplicate run sent none
    job = fresh(job_id)
    assert (job.status, job.created_count, job.processed) == ("done", total, total)


def test_queue_depth_by_state_in_the_metrics(app, client, redis_queue):
    from rq.job import Job

    scrape = lambda: client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)  # noqa: E731
    assert sample(scrape(), "classroom_queue_jobs", queue=redis_queue.name, state="queued") == 0
    job_id = queue.enqueue("member_import.validate", 424242)
    queue.enqueue("member_import.commit", 424243)
    text = scrape()
    assert sample(text, "classroom_queue_jobs", queue=redis_queue.name, state="queued") == 2
    assert sample(text, "classroom_queue_jobs", queue=redis_queue.name, state="failed") == 0
    job = Job.fetch(job_id, connection=redis_queue.connection)
    assert job.retries_left == 3 and job.retry_intervals == [1, 1, 1]
    assert job.func_name == "classroom.worker.perform_task" and job.args == ("member_import.validate", 424242)
    job.delete()
    Job.fetch(queue.enqueue("member_import.validate", 1), connection=redis_queue.connection)
    redis_queue.failed_job_registry.add(job, ttl=60, exc_string="boom")
    assert sample(scrape(), "classroom_queue_jobs", queue=redis_queue.name, state="failed") == 1


def test_a_failing_run_is_retried_and_the_job_fails_only_when_no_retry_is_left(app, tree, make_admin, tmp_path,
                                                                                  redis_queue, monkeypatch):
    from classroom.unions import jobs
    from classroom.worker import InProcessWorker as SimpleWorker

    app.config["QUEUE_RETRY_INTERVALS"] = [0, 0]  # retried at once: no scheduler needed
    real, calls = jobs.RUNNERS["validate"], []

    def flaky(job_id: int) -> None:
        calls.append(job_id)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        real(job_id)

    monkeypatch.setitem(jobs.RUNNERS, "validate", flaky)
    client = login_client(app, make_admin(tree.a1))
    job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "m.csv", people(3))))
    assert fresh(job_id).status == "validating" and calls == []  # queued, not run
    worker = lambda: SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)  # noqa: E731
    worker()
    assert len(calls) == 2 and fresh(job_id).status == "ready"  # failed once, retried, done

    monkeypatch.setitem(jobs.RUNNERS, "validate", lambda _job_id: 1 / 0)
    again = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "n.csv", people(3, start=10))))
    worker()
    job = fresh(again)
    assert job.status == "failed" and "unexpected error" in job.message  # after the last of 3 runs
    assert redis_queue.failed_job_registry.count == 1


@pytest.mark.parametrize("worker_class", ["Worker", "InProcessWorker"])
def test_a_stopping_worker_does_not_wait_a_minute_for_its_command_listener(redis_queue, worker_class):
    """RQ's command listener woke every 60 s, and a stopping worker joins it: ours wakes every second."""
    import time

    from classroom import worker as worker_module

    made = getattr(worker_module, worker_class)([redis_queue], connection=redis_queue.connection)
    made.subscribe()
    try:
        assert made.pubsub_thread.sleep_time == worker_module.COMMAND_WAIT_SECONDS == 1
    finally:
        started = time.monotonic()
        made.unsubscribe()
    assert time.monotonic() - started < 5
    started = time.monotonic()
    made.work(burst=True)  # an empty queue: registers, finds nothing, tears down (unsubscribing) at once
    assert time.monotonic() - started < 5

"""Announcements to a whole union (issue 18): an admin of the union (or above) posts one; a queue task
notifies every active member of the subtree in batches, each once (in-app, and by email through the
outbox for those whose preferences ask); the pages show each one's progress from the database. A batch
that fails is rolled back and the retry goes on from the cursor; a worker killed mid-job (PostgreSQL and
Redis, real RQ worker processes) leaves a job that RQ retries to the end, every recipient notified once."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from sqlalchemy import func, insert, select

from classroom import queue
from classroom.accounts.models import User
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification, OutboundMessage
from classroom.unions.announcements import jobs
from classroom.unions.announcements import services as announcements
from classroom.unions.announcements.models import UnionAnnouncement
from classroom.unions.models import Membership, MembershipStatus
from tests.factories import login_client
from tests.test_observability import TOKEN, sample

KIND = "union.announcement"


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN, "ANNOUNCEMENT_BATCH_SIZE": 2}


def post(client, union, title="停电通知", body="本周六厂区检修，培训改到线上。", **extra):
    return client.post(f"/unions/{union.id}/announcements", data={"title": title, "body": body, **extra})


def announcement_id_of(response, union) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    found = re.fullmatch(rf"/unions/{union.id}/announcements/(\d+)", response.location)
    assert found, response.location
    return int(found.group(1))


def fresh(announcement_id: int) -> UnionAnnouncement:
    db.session.rollback()
    return db.session.get_one(UnionAnnouncement, announcement_id, populate_existing=True)


def notified(announcement_id: int) -> list[int]:
    """The people notified of this announcement, one entry per notification (sorted)."""
    db.session.rollback()
    return sorted(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == KIND, Notification.dedup_key.like(f"{KIND}:{announcement_id}:%"))))


def emails(announcement_id: int) -> list[int]:
    return sorted(db.session.scalars(select(OutboundMessage.user_id).where(
        OutboundMessage.kind == KIND, OutboundMessage.channel == "email",
        OutboundMessage.dedup_key.like(f"{KIND}:{announcement_id}:%"))))


@pytest.fixture
def audience(tree, make_user):
    """District A's active members (A1 ×3, A2 ×2, with email) and people who must not hear: an applicant and
    a lapsed member of A1, a closed account in A2, a member of district B."""
    members = [make_user(f"甲{n}", union=tree.a1, email=f"a1-{n}@example.org") for n in range(3)]
    members += [make_user(f"乙{n}", union=tree.a2, email=f"a2-{n}@example.org") for n in range(2)]
    make_user("申请人", union=tree.a1, status=MembershipStatus.APPLIED, email="applied@example.org")
    make_user("失效", union=tree.a1, status=MembershipStatus.LAPSED, email="lapsed@example.org")
    make_user("注销", union=tree.a2, is_active=False, email="closed@example.org")
    make_user("西城", union=tree.b1, email="b1@example.org")
    return sorted(member.id for member in members)


def scrape(client) -> str:
    return client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)


def test_an_announcement_reaches_every_active_member_of_the_subtree_once(app, tree, make_admin, audience, client):
    runs = lambda: sample(scrape(client), "classroom_queue_job_runs_total", task=announcements.TASK,  # noqa: E731
                          outcome="done") or 0
    before = runs()
    admin = login_client(app, make_admin(tree.district_a))
    response = post(admin, tree.district_a)
    announcement_id = announcement_id_of(response, tree.district_a)
    announcement = fresh(announcement_id)  # the eager queue sent it before the answer, 2 members a batch
    assert (announcement.status, announcement.done, announcement.total, announcement.last_user_id) == \
        ("done", 5, 5, audience[-1])
    assert notified(announcement_id) == audience == emails(announcement_id)
    note = db.session.scalar(select(Notification).where(Notification.user_id == audience[0], Notification.kind == KIND))
    assert note.title == "东城区总工会: 停电通知" and note.body == "本周六厂区检修，培训改到线上。"
    assert runs() == before + 1  # the task is counted in /metrics like every queue task
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "union_announcement.post")) == 1

    page = admin.get(f"/unions/{tree.district_a.id}/announcements/{announcement_id}").get_data(as_text=True)
    assert 'data-progress-done="5" data-progress-total="5"' in page and 'data-announcement-status="done"' in page
    listing = admin.get(f"/unions/{tree.district_a.id}/announcements").get_data(as_text=True)
    assert f'data-announcement="{announcement_id}" data-done="5" data-total="5"' in listing
    assert admin.get(f"/unions/{tree.district_a.id}/announcements/{announcement_id}/progress.json").json == {
        "status": "done", "label": "Sent", "processed": 5, "total": 5, "percent": 100, "busy": False,
        "interrupted": False}

    jobs.send(announcement_id)  # a second delivery of the finished task: nothing happens
    db.session.execute(UnionAnnouncement.__table__.update().values(status="sending", done=0, last_user_id=0))
    db.session.commit()
    jobs.send(announcement_id)  # even from a lost cursor, the dedup keys send nothing twice
    assert notified(announcement_id) == audience == emails(announcement_id)
    assert fresh(announcement_id).status == "done"


def test_a_failed_batch_is_rolled_back_and_resuming_goes_on_from_the_cursor(app, tree, make_admin, audience,
                                                                           monkeypatch):
    real, calls = jobs.notify_many, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            real(*args, **kwargs)  # written, then the batch fails before its commit
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "notify_many", flaky)
    admin = login_client(app, make_admin(tree.city))
    announcement_id = announcement_id_of(post(admin, tree.district_a), tree.district_a)
    stopped = fresh(announcement_id)
    assert (stopped.status, stopped.done, stopped.last_user_id) == ("failed", 2, audience[1])
    assert notified(announcement_id) == audience[:2]  # the second batch left nothing behind
    page = admin.get(f"/unions/{tree.district_a.id}/announcements/{announcement_id}").get_data(as_text=True)
    assert "Resume sending" in page and "Those already reached keep their message" in page

    response = admin.post(f"/unions/{tree.district_a.id}/announcements/{announcement_id}/resume")
    assert response.status_code == 302
    assert (fresh(announcement_id).status, fresh(announcement_id).done) == ("done", 5)
    assert notified(announcement_id) == audience == emails(announcement_id)
    again = admin.post(f"/unions/{tree.district_a.id}/announcements/{announcement_id}/resume", follow_redirects=True)
    assert "Only a stopped announcement can be resumed." in again.get_data(as_text=True)
    assert notified(announcement_id) == audience and fresh(announcement_id).status == "done"


def test_only_admins_of_the_union_or_above_reach_its_announcements(app, tree, make_admin, make_user, audience):
    city = login_client(app, make_admin(tree.city, "市管理员"))
    announcement_id = announcement_id_of(post(city, tree.district_a), tree.district_a)
    sibling = login_client(app, make_admin(tree.district_b, "西城管理员"))
    below = login_client(app, make_admin(tree.a1, "基层管理员"))
    worker = login_client(app, make_user("职工", union=tree.a1))
    own = f"/unions/{tree.district_a.id}/announcements"
    for client in (sibling, below):
        assert client.get(own).status_code == 404
        assert client.get(f"{own}/{announcement_id}").status_code == 404
        assert client.get(f"{own}/{announcement_id}/progress.json").status_code == 404
        assert client.post(f"{own}/{announcement_id}/resume").status_code == 404
        assert post(client, tree.district_a).status_code == 404
    # an id of district A's announcement under the sibling's own union is no way in either
    assert sibling.get(f"/unions/{tree.district_b.id}/announcements/{announcement_id}").status_code == 404
    assert worker.get(own).status_code == 403 and post(worker, tree.district_a).status_code == 403
    assert city.get(f"{own}/{announcement_id}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(UnionAnnouncement)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "scope.denied")) >= 10
    assert notified(announcement_id) == audience


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"title": ""}, "title", "This field is required."),
    ({"title": "   "}, "title", "This field is required."),
    ({"body": ""}, "body", "This field is required."),
    ({"title": "长" * 201}, "title", "Field cannot be longer than 200 characters."),
    ({"body": "长" * 5001}, "body", "Field cannot be longer than 5000 characters."),
])
def test_bad_input_is_answered_with_form_errors_and_sends_nothing(app, tree, make_admin, audience, fields, field,
                                                                    message):
    admin = login_client(app, make_admin(tree.district_a))
    response = post(admin, tree.district_a, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}"' in page
    assert db.session.scalar(select(func.count()).select_from(UnionAnnouncement)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_post_without_its_csrf_token_is_refused(app, tree, make_admin, audience):
    admin = login_client(app, make_admin(tree.district_a))
    app.config["WTF_CSRF_ENABLED"] = True
    assert post(admin, tree.district_a).status_code == 400
    page = admin.get(f"/unions/{tree.district_a.id}/announcements").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    announcement_id = announcement_id_of(post(admin, tree.district_a, csrf_token=token), tree.district_a)
    assert notified(announcement_id) == audience
    assert db.session.scalar(select(func.count()).select_from(UnionAnnouncement)) == 1


# ---- on Redis: a real queue ---------------------------------------------------------------------------

def test_on_redis_the_post_answers_at_once_and_a_worker_sends_it(app, tree, make_admin, audience):
    from classroom.worker import InProcessWorker as SimpleWorker

    rq_queue = _redis_queue(app)
    try:
        admin = login_client(app, make_admin(tree.district_a))
        announcement_id = announcement_id_of(post(admin, tree.district_a), tree.district_a)
        assert fresh(announcement_id).status == "queued" and notified(announcement_id) == []
        progress = admin.get(f"/unions/{tree.district_a.id}/announcements/{announcement_id}/progress.json").json
        assert (progress["busy"], progress["processed"]) == (True, 0)
        assert rq_queue.count == 1
        SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
        assert (fresh(announcement_id).status, fresh(announcement_id).done) == ("done", 5)
        assert notified(announcement_id) == audience == emails(announcement_id)
    finally:
        _empty(app, rq_queue)


def _redis_queue(app):
    import uuid

    from tests.conftest import redis_url_or_skip

    app.config.update(QUEUE_URL=redis_url_or_skip(), QUEUE_NAME=f"test-{uuid.uuid4().hex[:10]}",
                      QUEUE_RETRY_INTERVALS=[1, 1, 1])
    return queue.rq_queue(app)


def _empty(app, rq_queue) -> None:
    connection = queue.connection(app)
    for key in connection.scan_iter(f"*{rq_queue.name}*"):
        connection.delete(key)


def add_members(union, count: int, *, start: int) -> list[int]:
    """``count`` active members of ``union`` with an email each, written in two statements."""
    now = utcnow()
    ids = db.session.scalars(insert(User).returning(User.id), [
        {"real_name": f"职工{n:05d}", "mobile": f"1371{n:07d}", "email": f"w{n}@example.org", "locale": "zh_CN",
         "created_at": now} for n in range(start, start + count)]).all()
    db.session.execute(insert(Membership), [
        {"user_id": user_id, "union_id": union.id, "status": MembershipStatus.ACTIVE, "applied_at": now,
         "started_at": now} for user_id in ids])
    db.session.commit()
    return sorted(ids)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server to kill a client of
def test_a_worker_killed_mid_announcement_leaves_it_to_a_retry_that_notifies_everyone_once(
        app, tree, make_admin, tmp_path, monkeypatch):
    from rq.job import Job

    from tests.test_queue import children, lapse_heartbeats, stop, wait_until, worker_process

    total, batch = 5_000, 200
    app.config["ANNOUNCEMENT_BATCH_SIZE"] = batch
    rq_queue = _redis_queue(app)
    monkeypatch.setenv("CLASSROOM_ANNOUNCEMENT_BATCH_SIZE", str(batch))  # the workers read their environment
    people = add_members(tree.a1, total // 2, start=0) + add_members(tree.a2, total // 2, start=total // 2)
    admin = login_client(app, make_admin(tree.district_a))
    first = worker_process(app, tmp_path, "first")
    try:
        announcement_id = announcement_id_of(post(admin, tree.district_a), tree.district_a)
        wait_until(lambda: fresh(announcement_id).done >= 1500, 120, "1,500 recipients", tmp_path / "first.log")
        horses = children(first.pid)
        assert horses, "no work-horse runs the job"
        for pid in [*horses, first.pid]:  # the host is gone: the worker and the job's process, at once
            os.kill(pid, signal.SIGKILL)
        first.wait(10)
        stopped = fresh(announcement_id)
        assert stopped.status == "sending" and stopped.done < total, "it finished before it could be killed"
        time.sleep(1)  # PostgreSQL rolls the dead connection's batch back
        reached = fresh(announcement_id)
        assert notified(announcement_id) == people[:reached.done] and people[reached.done - 1] == reached.last_user_id
        [started_id] = rq_queue.started_job_registry.get_job_ids()
        rq_job = Job.fetch(started_id, connection=rq_queue.connection)
        assert rq_job.retries_left == 3
        lapse_heartbeats(rq_queue)

        second = worker_process(app, tmp_path, "second")  # RQ finds the abandoned job once its heartbeat lapses
        try:
            wait_until(lambda: fresh(announcement_id).status == "done", 240, "the retried announcement",
                       tmp_path / "second.log")
            wait_until(lambda: rq_job.get_status(refresh=True) == "finished", 30, "RQ to mark the job finished")
            rq_job.refresh()
            assert rq_job.retries_left == 2  # retried once, by RQ
            queue.enqueue(announcements.TASK, announcement_id)  # a second delivery beside the retry: no change
            wait_until(lambda: rq_queue.count == 0 and not rq_queue.started_job_registry.count, 60,
                       "the duplicate to run")
            time.sleep(0.5)
        finally:
            stop(second)
    finally:
        stop(first)
        _empty(app, rq_queue)
    done = fresh(announcement_id)
    assert (done.status, done.done, done.total) == ("done", total, total)
    assert notified(announcement_id) == people == emails(announcement_id)  # each once, in-app and by email

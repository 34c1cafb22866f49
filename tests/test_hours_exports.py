"""Large hours-report exports through the queue (issue 18): a member table of more than
EXPORT_DIRECT_MAX_ROWS rows is built by a queue task into storage, with a progress page and a download only
for the admin who asked, while the union stays in their scope; small exports and the (always small) union
and dimension tables stay direct."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from classroom.accounts.models import RoleGrant
from classroom.extensions import db
from classroom.storage import storage
from courses.hours.models import ReportExport
from tests.factories import login_client
from tests.test_hours import credit


@pytest.fixture
def app_config():
    return {"EXPORT_DIRECT_MAX_ROWS": 3}


@pytest.fixture
def members(tree, make_user):
    people = [make_user(f"工人{n}", union=tree.a1, mobile=f"1381234{n:04d}") for n in range(5)]
    for n, person in enumerate(people):
        credit(person, 45 * (n + 1))
    return people


def export_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    found = re.fullmatch(r"/reports/hours/exports/(\d+)", response.location)
    assert found, response.location
    return int(found.group(1))


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def fresh(export_id: int) -> ReportExport:
    db.session.rollback()
    return db.session.get_one(ReportExport, export_id, populate_existing=True)


def test_a_large_member_export_is_built_by_the_queue_and_a_small_one_stays_direct(app, tree, make_admin, members):
    admin = login_client(app, make_admin(tree.district_a))
    app.config["EXPORT_DIRECT_MAX_ROWS"] = 5
    direct = admin.get(f"/reports/hours?union={tree.a1.id}&format=csv")  # 5 rows: at the limit, direct
    assert direct.status_code == 200 and direct.mimetype == "text/csv"
    assert len(csv_rows(direct.data)) == 6
    app.config["EXPORT_DIRECT_MAX_ROWS"] = 4
    export_id = export_id_of(admin.get(f"/reports/hours?union={tree.a1.id}&format=csv"))
    export = fresh(export_id)  # the eager queue built it before the answer
    assert (export.status, export.rows, export.filename) == ("done", 5, f"hours-A1-{export.period_label}.csv")
    assert storage().exists(export.storage_key)
    page = admin.get(f"/reports/hours/exports/{export_id}").get_data(as_text=True)
    assert 'data-export-status="done"' in page and 'data-export-rows="5"' in page
    assert admin.get(f"/reports/hours/exports/{export_id}/progress.json").json["percent"] == 100
    download = admin.get(f"/reports/hours/exports/{export_id}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    assert csv_rows(download.data) == csv_rows(direct.data)  # the same file as the direct answer: full mobiles

    export_id = export_id_of(admin.get(f"/reports/hours?union={tree.a1.id}&format=xlsx"))
    book = load_workbook(io.BytesIO(admin.get(f"/reports/hours/exports/{export_id}/download").data))
    rows = list(book.active.iter_rows(min_row=2, values_only=True))
    assert sorted(row[0] for row in rows) == sorted(person.real_name for person in members)
    # the union table of the city has one row per child union: direct whatever the limit
    app.config["EXPORT_DIRECT_MAX_ROWS"] = 0
    city = admin.get(f"/reports/hours?union={tree.district_a.id}&format=csv")
    assert city.status_code == 200 and city.mimetype == "text/csv"
    assert db.session.scalar(select(func.count()).select_from(ReportExport)) == 2


def test_only_the_admin_who_asked_downloads_an_export_while_the_union_is_theirs(app, tree, make_admin, make_user,
                                                                                members):
    owner = make_admin(tree.a1, "基层管理员")
    asker = login_client(app, owner)
    export_id = export_id_of(asker.get(f"/reports/hours?union={tree.a1.id}&format=csv"))
    colleague = login_client(app, make_admin(tree.a1, "同事"))  # the same union, but not theirs to download
    sibling = login_client(app, make_admin(tree.a2, "隔壁"))
    worker = login_client(app, members[0])
    for client, status in ((colleague, 404), (sibling, 404), (worker, 403)):
        for path in ("", "/progress.json", "/download"):
            assert client.get(f"/reports/hours/exports/{export_id}{path}").status_code == status
    assert asker.get(f"/reports/hours/exports/{export_id}/download").status_code == 200
    db.session.execute(delete(RoleGrant).where(RoleGrant.user_id == owner.id))
    db.session.add(RoleGrant(user_id=owner.id, role="union_admin", union_id=tree.a2.id))  # moved to A2
    db.session.commit()
    assert asker.get(f"/reports/hours/exports/{export_id}/download").status_code == 404
    assert asker.get("/reports/hours/exports/999999").status_code == 404


def test_an_export_that_fails_says_so_and_offers_no_download(app, tree, make_admin, members, monkeypatch):
    from courses.hours import jobs

    def broken(*_args, **_kwargs):
        raise OSError("the bucket is away")

    monkeypatch.setattr(jobs, "storage", lambda: type("Broken", (), {"put_bytes": broken})())
    admin = login_client(app, make_admin(tree.a1))
    export_id = export_id_of(admin.get(f"/reports/hours?union={tree.a1.id}&format=csv"))
    assert fresh(export_id).status == "failed"
    page = admin.get(f"/reports/hours/exports/{export_id}").get_data(as_text=True)
    assert "The export stopped on an unexpected error" in page
    assert admin.get(f"/reports/hours/exports/{export_id}/download").status_code == 409


def test_on_redis_the_export_is_queued_once_and_a_worker_builds_it(app, tree, make_admin, members):
    from classroom.worker import InProcessWorker as SimpleWorker
    from tests.test_union_announcements import _empty, _redis_queue

    rq_queue = _redis_queue(app)
    try:
        admin = login_client(app, make_admin(tree.a1))
        export_id = export_id_of(admin.get(f"/reports/hours?union={tree.a1.id}&format=csv"))
        assert fresh(export_id).status == "queued"
        page = admin.get(f"/reports/hours/exports/{export_id}").get_data(as_text=True)
        assert "data-import-progress" in page and "js/import.js" in page
        assert admin.get(f"/reports/hours/exports/{export_id}/download").status_code == 409
        # a second click while it waits: the same export, not a second job
        assert export_id_of(admin.get(f"/reports/hours?union={tree.a1.id}&format=csv")) == export_id
        assert rq_queue.count == 1
        SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
        assert (fresh(export_id).status, fresh(export_id).rows) == ("done", 5)
        assert len(csv_rows(admin.get(f"/reports/hours/exports/{export_id}/download").data)) == 6
    finally:
        _empty(app, rq_queue)

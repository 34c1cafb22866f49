"""Member import: preview with every row's errors, all-or-nothing commit, idempotence, scope,
invitations, background jobs with progress, the CLI, and kill -9 leaving nothing behind."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from classroom.accounts.models import Invitation, User
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.unions.import_commit import run_import
from classroom.unions.import_files import ImportRow, read_rows
from classroom.unions.import_models import ImportJob
from classroom.unions.member_import import ImportRejected, parse_level, validate
from classroom.unions.models import Membership, TradeUnion
from tests.factories import login_client
from tests.helpers import assert_inert, data_texts, formula_payloads, xss_payloads

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["姓名", "手机号", "工作单位", "工种", "技能等级", "群体", "基层工会"]


class RecordingSMS:
    """An SMS gateway plugged in by config (SMS_BACKEND), keeping what it was given."""

    sent: list[tuple[str, str]] = []

    def __init__(self, config) -> None:
        pass

    def send(self, mobile: str, text: str) -> None:
        RecordingSMS.sent.append((mobile, text))


@pytest.fixture(autouse=True)
def _uploads(request, tmp_path):
    """Staged files go to a temporary folder, never into the repository's instance/."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


def people(count: int, union: str = "A1", start: int = 0) -> list[list[str]]:
    return [[f"工人{n:05d}", f"1370{n:07d}", "华东机电", "电工", "四级/中级工", "货车司机", union]
            for n in range(start, start + count)]


def write_csv(path: Path, rows: list[list], *, header: bool = True, encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def upload(client, union, path: Path, **extra):
    with path.open("rb") as handle:
        return client.post(f"/unions/{union.id}/imports", data={"file": (handle, path.name), **extra},
                           content_type="multipart/form-data")


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/imports/(\d+)$", response.location).group(1))


def wait_until_idle(client, union, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"/unions/{union.id}/imports/{job_id}/progress.json").json
        if not state["busy"] or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def import_via_web(client, union, path: Path, **extra) -> ImportJob:
    job_id = job_id_of(upload(client, union, path, **extra))
    wait_until_idle(client, union, job_id)
    client.post(f"/unions/{union.id}/imports/{job_id}/commit")
    wait_until_idle(client, union, job_id)
    return db.session.get(ImportJob, job_id)


# ---- the acceptance scenario ------------------------------------------------------------

def test_five_bad_rows_among_100_write_nothing_and_are_all_named(app, tree, make_user, make_admin, tmp_path):
    sibling = make_user("邻居", union=tree.a2, mobile="13655550000", employer="东城卫生中心")
    client = login_client(app, make_admin(tree.a1))
    rows = people(100)
    rows[9][1] = "1234"  # row 11: bad mobile
    rows[19][6] = "不存在的工会"  # row 21: unknown union
    rows[29][1] = rows[4][1]  # row 31: the same mobile as row 6
    rows[39][4] = "十级"  # row 41: no such level
    rows[49][1] = sibling.mobile  # row 51: a person of a sibling union
    users_before = count(User)
    job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "members.csv", rows)))
    page = client.get(f"/unions/{tree.a1.id}/imports/{job_id}").get_data(as_text=True)
    named = dict(re.findall(r'data-error-row="(\d+)" data-error-code="(\w+)"', page))
    assert named == {"11": "mobile_invalid", "21": "union_unknown", "31": "mobile_duplicate", "41": "level_invalid",
                     "51": "mobile_out_of_scope"}
    assert "The same mobile number is on row 6." in page and 'data-error-rows="5"' in page
    assert "Import now" not in page
    assert count(User) == users_before and count(Invitation) == 0
    db.session.refresh(sibling)
    assert (sibling.real_name, sibling.employer) == ("邻居", "东城卫生中心")
    assert client.post(f"/unions/{tree.a1.id}/imports/{job_id}/commit").status_code == 302
    assert count(User) == users_before  # an invalid job cannot be committed


def test_corrected_file_imports_100_and_again_changes_nothing(app, tree, make_admin, tmp_path):
    admin = make_admin(tree.a1)
    client = login_client(app, admin)
    path = write_csv(tmp_path / "members.csv", people(100))
    job_id = job_id_of(upload(client, tree.a1, path))
    preview = client.get(f"/unions/{tree.a1.id}/imports/{job_id}").get_data(as_text=True)
    assert data_texts(preview, "data-count", "created") == data_texts(preview, "data-count", "invited") == ["100"]
    assert "Import now" in preview and count(User) == 1
    client.post(f"/unions/{tree.a1.id}/imports/{job_id}/commit")
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.created_count, job.invited_count) == ("done", 100, 100)
    numbers = db.session.scalars(select(Membership.member_no).where(Membership.union_id == tree.a1.id,
                                                                    Membership.status == "active")).all()
    assert sorted(numbers) == [f"A1-{n:06d}" for n in range(1, 101)]
    person = db.session.scalar(select(User).where(User.mobile == "13700000007"))
    assert (person.real_name, person.employer, person.trade, person.skill_level, person.worker_group,
            person.password_hash) == ("工人00007", "华东机电", "电工", 4, "truck_driver", None)
    page = client.get(f"/unions/{tree.a1.id}/imports/{job.id}").get_data(as_text=True)
    assert page.count("data-invitation=") == app.config["PAGE_SIZE"] and "/auth/invitation/" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member_import.commit"))
    assert (event.actor_id, event.union_id, event.data["created"]) == (admin.id, tree.a1.id, 100)
    snapshot = [count(model) for model in (User, Membership, Invitation, Notification)]
    again = import_via_web(client, tree.a1, path)
    assert (again.status, again.created_count, again.updated_count, again.unchanged_count) == ("done", 0, 0, 100)
    assert [count(model) for model in (User, Membership, Invitation, Notification)] == snapshot
    db.session.refresh(tree.a1)
    assert tree.a1.member_seq == 100


def test_xlsx_upload_is_read_like_csv(app, tree, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.district_a))
    rows = people(3, union="华东机电工会") + [["李四", 13700009999, "东城卫生中心", "护理员", 3, "护工", "A2"]]
    job = import_via_web(client, tree.district_a, write_xlsx(tmp_path / "members.xlsx", rows))
    assert (job.status, job.created_count) == ("done", 4)
    li = db.session.scalar(select(User).where(User.mobile == "13700009999"))
    assert (li.skill_level, li.worker_group) == (3, "caregiver")
    assert db.session.scalar(select(Membership.member_no).where(Membership.user_id == li.id)) == "A2-000001"


# ---- validation rules -------------------------------------------------------------------

def rows_of(*cells: tuple) -> list[ImportRow]:
    return [ImportRow(n + 2, *values) for n, values in enumerate(cells)]


UNION_CASES = [
    ("B1", "district_a", "union_out_of_scope"),
    ("银泰商场工会", "district_a", "union_out_of_scope"),
    ("DA", "district_a", "union_not_grassroots"),
    ("", "district_a", "union_missing"),
    ("同名工会", "city", "union_ambiguous"),
    ("nobody", "a1", "union_unknown"),
]


def test_union_errors(tree, make_union):
    make_union("同名工会", parent=tree.district_a, code="S1")
    make_union("同名工会", parent=tree.district_b, code="S2")
    for union_cell, importer, code in UNION_CASES:
        plan = validate(rows_of(("王五", "13700000001", "", "", "", "", union_cell)), getattr(tree, importer),
                        now=utcnow())
        assert [(error.row, error.field, error.code) for error in plan.errors] == [(2, "union", code)], union_cell


def test_union_by_code_in_any_case_or_by_name_and_default_for_grassroots(tree):
    plan = validate(rows_of(("甲", "13700000001", "", "", "", "", "a2"), ("乙", "13700000002", "", "", "", "", "东城卫生中心工会"),
                            ("丙", "13700000003", "", "", "", "", "")), tree.district_a, now=utcnow())
    assert [error.code for error in plan.errors] == ["union_missing"]
    plan = validate(rows_of(("丙", "13700000003", "", "", "", "", "")), tree.a1, now=utcnow())
    assert not plan.errors and plan.actions[0].union_id == tree.a1.id


@pytest.mark.parametrize(("text", "level"), [("3", 3), ("三级", 3), ("高级工", 3), ("三级/高级工", 3), ("Level 2", 2),
                                             ("一级/高级技师", 1), ("技师", 2), ("初级工", 5), ("", None)])
def test_skill_levels(text, level):
    assert parse_level(text) == level


def test_other_field_errors_are_all_listed(tree):
    plan = validate(rows_of(("", "138", "x" * 101, "y" * 51, "6", "宇航员", "")), tree.a1, now=utcnow())
    assert sorted(error.code for error in plan.errors) == ["employer_long", "group_invalid", "level_invalid",
                                                          "mobile_invalid", "name_missing", "trade_long"]


def test_people_outside_scope_are_never_changed(tree, make_user, make_admin):
    outsider = make_user("外人", union=tree.b1, employer="银泰商场")
    nobody = make_user("无会员资格")  # an account without a membership: nobody's member
    admin = make_admin(tree.district_a)
    rows = rows_of(("外人改名", outsider.mobile, "新单位", "", "", "", "A1"), ("无名", nobody.mobile, "", "", "", "", "A1"))
    with pytest.raises(ImportRejected) as rejected:
        run_import(rows, tree.district_a, actor=admin, now=utcnow())
    db.session.rollback()
    assert {(error.row, error.code) for error in rejected.value.errors} == {(2, "mobile_out_of_scope"),
                                                                           (3, "mobile_out_of_scope")}
    db.session.refresh(outsider)
    assert (outsider.real_name, outsider.employer) == ("外人", "银泰商场")


def test_people_in_scope_are_updated_transferred_or_activated(tree, make_user, make_admin):
    member = make_user("老会员", union=tree.a1, employer="旧单位", skill_level=5)
    mover = make_user("调动", union=tree.a1)
    applicant = make_user("申请人", union=tree.a2, status="applied")
    returning = make_user("回归会员", union=tree.a1, status="lapsed")  # lapsed in A1, now a member of A2
    admin = make_admin(tree.district_a)
    rows = rows_of(("老会员", member.mobile, "华东机电", "", "二级/技师", "", "A1"),
                   ("调动", mover.mobile, "", "", "", "", "A2"),
                   ("申请人", applicant.mobile, "", "", "", "", "A2"),
                   ("回归会员", returning.mobile, "", "", "", "", "A2"))
    result = run_import(rows, tree.district_a, actor=admin, now=utcnow())
    db.session.commit()
    assert (result.created, result.updated, result.unchanged, result.invited) == (0, 4, 0, 0)
    # the old lapsed row leaves A1's scope as an approval would close it
    assert sorted(db.session.scalars(select(Membership.status).where(Membership.user_id == returning.id))) == [
        "active", "transferred"]
    db.session.refresh(member)
    assert (member.employer, member.skill_level, member.password_hash is not None) == ("华东机电", 2, True)
    history = dict(db.session.execute(select(Membership.status, Membership.member_no)
                                      .where(Membership.user_id == mover.id)).all())
    assert history == {"transferred": "A1-000002", "active": "A2-000001"}
    activated = db.session.scalar(select(Membership).where(Membership.user_id == applicant.id))
    assert (activated.status, activated.member_no, activated.decided_by_id) == ("active", "A2-000002", admin.id)
    assert count(Invitation) == 0  # they have passwords


# ---- files ------------------------------------------------------------------------------

def test_csv_encodings_headers_in_any_order_and_no_header(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("手机号,姓名,基层工会\n13700000001,王芳,A1\n".encode("gb18030"))
    assert [(r.number, r.name, r.mobile, r.union) for r in read_rows(path, "csv")] == [(2, "王芳", "13700000001", "A1")]
    path = tmp_path / "plain.csv"
    path.write_bytes("王芳,+86 137-0000-0001,单位,电工,3,courier,A1\n".encode())
    row = read_rows(path, "csv")[0]
    assert (row.number, row.mobile, row.skill_level, row.worker_group) == (1, "+86 137-0000-0001", "3", "courier")
    path = write_csv(tmp_path / "bom.csv", [["'=HYPERLINK(1)", "13700000001", "", "", "", "", ""]])
    assert read_rows(path, "csv")[0].name == "=HYPERLINK(1)"


def test_wrong_files_are_refused(app, tree, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.a1))
    fake = tmp_path / "members.xlsx"
    fake.write_bytes(b"name,mobile\n")
    assert "not an XLSX workbook" in upload(client, tree.a1, fake).get_data(as_text=True)
    other = tmp_path / "members.txt"
    other.write_bytes(b"x")
    assert "CSV or XLSX" in upload(client, tree.a1, other).get_data(as_text=True)
    assert count(ImportJob) == 0
    assert not list((Path(app.config["UPLOAD_FOLDER"]) / "imports").glob("*"))


# ---- invitations --------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"SMS_BACKEND": "tests.test_member_import.RecordingSMS"}])
def test_invitation_link_sets_the_password_once(app, tree, make_admin, tmp_path):
    RecordingSMS.sent.clear()
    client = login_client(app, make_admin(tree.a1))
    job = import_via_web(client, tree.a1, write_csv(tmp_path / "one.csv", people(1)), send_sms="y")
    assert job.invited_count == 1
    [(mobile, text)] = RecordingSMS.sent
    link = re.search(r"(/auth/invitation/[\w-]+)", text).group(1)
    stored = db.session.scalar(select(Invitation))
    assert link.rsplit("/", 1)[1] not in stored.token_hash and len(stored.token_hash) == 64
    worker = app.test_client()
    page = worker.get(link).get_data(as_text=True)
    assert "工**0" in page and "137****0000" in page
    weak = worker.post(link, data={"password": "password123", "confirm": "password123", "consent": "y"})
    assert "too easy" in weak.get_data(as_text=True)
    response = worker.post(link, data={"password": "Steel-Worker-2026", "confirm": "Steel-Worker-2026", "consent": "y"})
    assert response.status_code == 302 and worker.get("/me").status_code == 200
    assert worker.get(link).status_code == 404  # used
    assert app.test_client().post("/auth/login", data={"identifier": mobile, "password": "Steel-Worker-2026"}
                                  ).status_code == 302
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == stored.user_id)) \
        == "member_import.welcome"


def test_expired_invitation_is_refused_and_a_new_import_renews_it(app, tree, make_admin, tmp_path):
    admin = make_admin(tree.a1)
    rows = rows_of(("新人", "13700000001", "", "", "", "", ""))
    run_import(rows, tree.a1, actor=admin, now=utcnow())
    db.session.commit()
    invitation = db.session.scalar(select(Invitation))
    invitation.expires_at = utcnow()
    db.session.commit()
    again = run_import(rows, tree.a1, actor=admin, now=utcnow())
    db.session.commit()
    assert again.invited == 1 and count(Invitation) == 2
    token = next(iter(again.tokens.values()))
    assert app.test_client().get(f"/auth/invitation/{token}").status_code == 200


# ---- background jobs, scope, output ---------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"IMPORT_BACKGROUND_ROWS": 10}])
def test_large_file_runs_in_the_background_with_progress(app, tree, make_admin, tmp_path):
    from classroom.unions import jobs

    client = login_client(app, make_admin(tree.a1))
    job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "big.csv", people(60))))
    jobs.wait_for(job_id)
    state = wait_until_idle(client, tree.a1, job_id)
    assert (state["status"], state["processed"], state["percent"]) == ("ready", 60, 100)
    client.post(f"/unions/{tree.a1.id}/imports/{job_id}/commit")
    assert jobs.running_here(job_id) or db.session.get(ImportJob, job_id).status == "done"
    jobs.wait_for(job_id)
    state = wait_until_idle(client, tree.a1, job_id)
    assert (state["status"], state["percent"], state["busy"]) == ("done", 100, False)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.mobile.like("1370%"))) == 60


def test_running_page_shows_progress_and_interrupted_job_can_run_again(app, tree, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.a1))
    job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "m.csv", people(5))))
    job = db.session.get(ImportJob, job_id)
    job.status, job.started_at = "running", utcnow()
    db.session.commit()
    page = client.get(f"/unions/{tree.a1.id}/imports/{job_id}").get_data(as_text=True)
    assert "data-import-progress" in page and re.search(r'src="/static/[0-9a-f]{10}/js/import\.js"', page)
    assert_inert(page)
    job.heartbeat_at = job.started_at = utcnow().replace(year=2020)  # its process died long ago
    db.session.commit()
    page = client.get(f"/unions/{tree.a1.id}/imports/{job_id}").get_data(as_text=True)
    assert "interrupted" in page and "Run it again" in page
    client.post(f"/unions/{tree.a1.id}/imports/{job_id}/retry")
    assert db.session.get(ImportJob, job_id).status == "done" and count(Invitation) == 5


def test_a_job_commits_once_and_a_done_job_does_not_run_again(app, tree, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.a1))
    job = import_via_web(client, tree.a1, write_csv(tmp_path / "m.csv", people(2)))
    imported = select(func.count()).select_from(Membership).where(Membership.member_no.is_not(None))
    assert job.status == "done" and db.session.scalar(imported) == 2
    base = f"/unions/{tree.a1.id}/imports/{job.id}"
    again = client.post(f"{base}/commit", follow_redirects=True).get_data(as_text=True)
    assert "This import is not waiting for a commit." in again
    client.post(f"{base}/retry")  # neither interrupted nor failed: nothing to run again
    assert db.session.get(ImportJob, job.id).status == "done" and db.session.scalar(imported) == 2
    retries = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "member_import.retry")
    assert db.session.scalar(retries) == 0


def test_admins_reach_only_their_own_jobs(app, tree, make_user, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.a1))
    job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "m.csv", people(2))))
    other = login_client(app, make_admin(tree.b1, name="别人"))
    for url in (f"/unions/{tree.a1.id}/imports/{job_id}", f"/unions/{tree.b1.id}/imports/{job_id}",
                f"/unions/{tree.b1.id}/imports/{job_id}/progress.json"):
        assert other.get(url).status_code == 404
    assert other.post(f"/unions/{tree.b1.id}/imports/{job_id}/commit").status_code == 404
    assert login_client(app, make_user("工人", union=tree.a1)).get(f"/unions/{tree.a1.id}/imports").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "scope.denied")) == 4


def test_names_render_inert_and_the_links_csv_neutralizes_formulas(app, tree, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.a1))
    names = [payload[:50] for payload in xss_payloads()[:10] + formula_payloads()[:10]]
    rows = [[name, f"1371{n:07d}", "", "", "", "", ""] for n, name in enumerate(names)]
    job = import_via_web(client, tree.a1, write_csv(tmp_path / "x.csv", rows))
    assert job.created_count == len(names)
    assert_inert(client.get(f"/unions/{tree.a1.id}/imports/{job.id}").get_data(as_text=True))
    body = client.get(f"/unions/{tree.a1.id}/imports/{job.id}/links.csv").get_data().decode("utf-8-sig")
    for cell in (row[0] for row in list(csv.reader(io.StringIO(body)))[1:]):
        assert not cell.startswith(("=", "+", "-", "@")), cell
    client.post(f"/unions/{tree.a1.id}/imports/{job.id}/forget-links")
    assert db.session.get(ImportJob, job.id).links_encrypted is None


def test_member_numbers_stay_distinct_with_concurrent_approvals(app, tree, make_user, make_admin, tmp_path):
    from tests.concurrency import run_at_once

    admin = make_admin(tree.a1)
    client = login_client(app, admin)
    job_id = job_id_of(upload(client, tree.a1, write_csv(tmp_path / "m.csv", people(30))))
    applicants = [make_user(f"申请{n}", union=tree.a1, status="applied") for n in range(5)]
    ids = [db.session.scalar(select(Membership.id).where(Membership.user_id == person.id)) for person in applicants]
    clients = [login_client(app, admin) for _ in ids]
    urls = [f"/unions/{tree.a1.id}/applications/{membership_id}/approve" for membership_id in ids]
    commit_url = f"/unions/{tree.a1.id}/imports/{job_id}/commit"
    results = run_at_once(6, lambda i: client.post(commit_url) if i == 5 else clients[i].post(urls[i]))
    assert [getattr(result, "status_code", result) for result in results] == [302] * 6
    numbers = db.session.scalars(select(Membership.member_no).where(Membership.status == "active")).all()
    assert sorted(numbers) == [f"A1-{n:06d}" for n in range(1, 36)]


# ---- the command line ---------------------------------------------------------------------

def test_cli_import_dry_run_errors_and_links(runner, tree, tmp_path):
    path = write_csv(tmp_path / "m.csv", people(30))
    result = runner.invoke(args=["members", "import", str(path), "--union", "A1", "--dry-run"])
    assert result.exit_code == 0 and "no errors" in result.output and count(User) == 0
    links = tmp_path / "links.csv"
    result = runner.invoke(args=["members", "import", str(path), "--union", "A1", "--links", str(links), "--no-sms"])
    assert result.exit_code == 0, result.output
    assert "30 created" in result.output and "writing 30/30" in result.output
    assert len(links.read_text(encoding="utf-8-sig").splitlines()) == 31
    bad = write_csv(tmp_path / "bad.csv", people(3, union="B1"))
    result = runner.invoke(args=["members", "import", str(bad), "--union", "A1"])
    assert result.exit_code == 1 and "row 2, union" in result.output and "3 rows have errors" in result.output
    again = runner.invoke(args=["members", "import", str(path), "--union", "A1"])
    assert "0 created, 0 updated, 30 unchanged" in again.output
    assert count(User) == 30


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a real server to kill a client of
def test_kill_9_mid_import_leaves_nothing_and_a_rerun_completes(app, tree, database_url, tmp_path):
    total = 12_000
    path = write_csv(tmp_path / "big.csv", people(total))
    env = {**os.environ, "CLASSROOM_ENV": "testing", "CLASSROOM_DATABASE_URL": database_url,
           "CLASSROOM_INSTANCE_PATH": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "flask"), "--app", "classroom", "members", "import", str(path),
               "--union", "A1", "--no-sms"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in process.stderr:
        if line.startswith("writing ") and int(line.split()[1].split("/")[0]) >= 3000:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    db.session.commit()
    deadline = time.monotonic() + 10
    while count(User) and time.monotonic() < deadline:  # the server notices the dead client at once
        time.sleep(0.1)
    assert (count(User), count(Membership), count(Invitation)) == (0, 0, 0)
    db.session.refresh(tree.a1)
    assert tree.a1.member_seq == 0
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    db.session.commit()
    assert (count(User), count(Membership), count(Invitation)) == (total, total, total)
    numbers = db.session.scalars(select(Membership.member_no)).all()
    assert sorted(numbers) == [f"A1-{n:06d}" for n in range(1, total + 1)]
    assert db.session.get(TradeUnion, tree.a1.id).member_seq == total
    assert db.session.scalar(select(User.real_name).where(User.mobile == "13700011234")) == "工人11234"
    # the imported people have no password until they accept their invitation
    assert db.session.scalar(select(func.count()).select_from(User).where(User.password_hash.is_not(None))) == 0

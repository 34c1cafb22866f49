"""A 100,000-row member import on PostgreSQL, through the union admin's pages: upload, the
preview (a background task), the commit (a background task), progress polled as the page does.

    .venv/bin/python -m benchmarks.member_import [--rows 100000]

Reports rows/s of the preview and of the commit (one transaction: people, memberships with member
numbers, invitations, welcome notifications), with the progress samples the page would show.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import tempfile
import time
from pathlib import Path

from benchmarks.common import app_env, database, flask, record, row
from benchmarks.seed import create_schema

ADMIN, PASSWORD, UNION_CODE = "13800000004", "Gonghui#2026", "DC01"  # the demo grassroots admin (华东机电)


def write_file(path: Path, rows: int) -> Path:
    groups = ["货车司机", "快递员", "", "", "农民工"]
    trades, levels = ["电工", "钳工", "数控车工"], ["五级/初级工", "四级/中级工", "三级/高级工"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "手机号", "工作单位", "工种", "技能等级", "群体", "基层工会"])
    for n in range(rows):
        writer.writerow([f"职工{n:06d}", f"1{n % 3 + 5}{n:09d}", "华东机电集团有限公司", trades[n % 3], levels[n % 3],
                         groups[n % 5], UNION_CODE])
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def follow(client, url: str, label: str) -> tuple[dict, float]:
    """Poll the progress endpoint (as import.js does) until the job is idle; print what it shows."""
    started, shown = time.perf_counter(), -1
    while True:
        state = client.get(url).json
        if state["percent"] // 10 != shown // 10 or not state["busy"]:
            shown = state["percent"]
            print(f"  {label:<9} {time.perf_counter() - started:6.1f} s  {state['status']:<10} "
                  f"{state['phase'] or '':<10} {state['processed']:>7,}/{state['total']:,}  {state['percent']:3d}%")
        if not state["busy"]:
            return state, time.perf_counter() - started
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with database("import") as url:
        run(url, args.rows)


def run(url: str, rows: int) -> None:
    """Upload, preview and commit ``rows`` members through the pages; print and record the rates."""
    create_schema(url)
    flask(url, "seed-demo", "--workers", "0")
    folder = Path(tempfile.mkdtemp(prefix="classroom-import-"))
    path = write_file(folder / "members.csv", rows)
    os.environ.update(app_env(url))
    from classroom import create_app
    from classroom.extensions import db
    from classroom.unions import jobs
    from classroom.unions.import_models import ImportJob

    app = create_app(WTF_CSRF_ENABLED=False, UPLOAD_FOLDER=str(folder / "uploads"))
    client = app.test_client()  # each request in its own app context, as in production
    assert client.post("/auth/login", data={"identifier": ADMIN, "password": PASSWORD}).status_code == 302
    union_id = int(re.search(r"/unions/(\d+)", client.get("/unions/").location).group(1))
    print(f"{rows:,} rows, PostgreSQL, background tasks (IMPORT_BACKGROUND_ROWS="
          f"{app.config['IMPORT_BACKGROUND_ROWS']})")
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = client.post(f"/unions/{union_id}/imports", data={"file": (handle, path.name)},
                               content_type="multipart/form-data")
    job_url = response.location
    progress_url = f"{job_url}/progress.json"
    upload_seconds = time.perf_counter() - started
    state, preview_seconds = follow(client, progress_url, "preview")
    assert state["status"] == "ready", state
    client.post(f"{job_url}/commit")
    state, commit_seconds = follow(client, progress_url, "commit")
    assert state["status"] == "done", state
    job_id = int(job_url.rsplit("/", 1)[1])
    started = time.perf_counter()
    jobs.wait_for(job_id, timeout=1800)  # the welcome messages, queued after the import's commit
    welcome_seconds = time.perf_counter() - started
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        db.engine.dispose()
    print(f"  upload (stage, count rows) {upload_seconds:6.1f} s")
    print(f"  preview                   {preview_seconds:6.1f} s  {rows / preview_seconds:8,.0f} rows/s")
    print(f"  commit, as polled         {commit_seconds:6.1f} s  {rows / commit_seconds:8,.0f} rows/s")
    print(f"  commit, transaction       {job.seconds:6.1f} s  {rows / job.seconds:8,.0f} rows/s "
          f"({job.created_count:,} created, {job.invited_count:,} invitations)")
    print(f"  welcome messages queued {welcome_seconds:6.1f} s after the page showed done; job {job.status}")
    record("member_import", [
        row(f"member import preview, rows/s ({rows:,} rows)", round(rows / preview_seconds)),
        row(f"member import commit as polled, rows/s ({rows:,} rows)", round(rows / commit_seconds),
            note=f"{rows / job.seconds:,.0f} rows/s inside its transaction; welcome messages queued "
                 f"{welcome_seconds:.1f} s after done")])


if __name__ == "__main__":
    main()

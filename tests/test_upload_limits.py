"""Uploads cannot exhaust the host (issue 14): a sheet past the upload limits is refused before or
while it is parsed, in the upload request itself, quickly and in little memory; a legitimate file
still imports. The paper roster's and the score sheet's cases are in test_attendance.py and
test_competitions.py."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from classroom import uploads
from classroom.extensions import db
from classroom.spreadsheets import inspect_sheet, read_sheet
from classroom.unions import jobs
from classroom.unions.import_models import ImportJob
from classroom.uploads import LimitExceeded, Limits, Meter, MeteredZipFile
from tests.factories import login_client

ROOT = Path(__file__).resolve().parents[1]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.'
    'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    f'package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>',
}
SHEET = "xl/worksheets/sheet1.xml"
SMALL = {"UPLOAD_MAX_ROWS": 50, "UPLOAD_MAX_COLUMNS": 10, "UPLOAD_MAX_CELL_CHARS": 100}
LIMITS = Limits(max_bytes=20 << 20, rows=50, columns=10, cell_chars=100, entries=100, unpacked=50 << 20, ratio=100)


# ---- hostile files, built as streams -------------------------------------------------------------

def write_workbook(path: Path, sheet_data: Iterable[str], *, level: int = 1) -> Path:
    """A valid XLSX whose sheet XML is streamed into the zip chunk by chunk (never whole in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, text in PACKAGE_PARTS.items():
            archive.writestr(name, text)
        with archive.open(SHEET, "w") as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'.encode())
            for chunk in sheet_data:
                sheet.write(chunk.encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def text_rows(count: int, width: int, *, per_chunk: int = 1000) -> Iterator[str]:
    """``count`` rows of one inline string of ``width`` characters, a thousand rows a chunk."""
    text = "x" * width
    for start in range(1, count + 1, per_chunk):
        yield "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{text}</t></is></c></row>'
                      for r in range(start, min(start + per_chunk, count + 1)))


def lie_about_size(path: Path, name: str, declared: int) -> None:
    """Rewrite the unpacked size the local header and the central directory declare for ``name``."""
    with zipfile.ZipFile(path) as archive:
        info, start = archive.getinfo(name), archive.start_dir
    with path.open("r+b") as handle:
        handle.seek(info.header_offset + 22)
        handle.write(struct.pack("<I", declared))
        handle.seek(start)
        directory = handle.read()
        at = 0
        while directory[at:at + 4] == b"PK\x01\x02":
            name_len, extra_len, comment_len = struct.unpack_from("<3H", directory, at + 28)
            if directory[at + 46:at + 46 + name_len].decode() == name:
                handle.seek(start + at + 24)
                handle.write(struct.pack("<I", declared))
            at += 46 + name_len + extra_len + comment_len


@pytest.fixture(scope="session")
def bomb(tmp_path_factory) -> Path:
    """The issue's file: one sheet of 1,000,000 rows of 1,000-character inline strings, about 1 GB
    unpacked and 12 MB packed (about 5 s to build, streamed)."""
    path = write_workbook(tmp_path_factory.mktemp("bomb") / "members.xlsx", text_rows(1_000_000, 1000))
    info = zipfile.ZipFile(path).getinfo(SHEET)
    assert info.file_size > 10**9 and path.stat().st_size < 16 << 20
    return path


@pytest.fixture(scope="session")
def liar(bomb, tmp_path_factory) -> Path:
    """The same gigabyte, its declared sizes rewritten to 5,000 bytes (under every declared limit)."""
    path = tmp_path_factory.mktemp("liar") / "members.xlsx"
    path.write_bytes(bomb.read_bytes())
    lie_about_size(path, SHEET, 5000)
    assert zipfile.ZipFile(path).getinfo(SHEET).file_size == 5000
    return path


# ---- the shared module ---------------------------------------------------------------------------

def test_central_directory_refuses_parts_declared_size_and_ratio_without_inflating(tmp_path):
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(101):
            archive.writestr(f"xl/p{n}.xml", "<a/>")
    understated = tmp_path / "understated.xlsx"  # its end record says one part; its directory holds 101
    understated.write_bytes(many.read_bytes())
    with understated.open("r+b") as handle:
        handle.seek(-22 + 8, os.SEEK_END)
        handle.write(struct.pack("<HH", 1, 1))
    big = write_workbook(tmp_path / "big.xlsx", text_rows(60_000, 1000), level=9)  # 60 MB declared
    tight = write_workbook(tmp_path / "tight.xlsx", text_rows(2000, 1000), level=9)  # 2 MB, packed 500:1
    for path, words in ((many, "more than 100 parts"), (understated, "more than 100 parts"),
                        (big, "unpack to more than 50 MB"),
                        (tight, "compressed more than 100 to 1")):
        with path.open("rb") as handle, pytest.raises(LimitExceeded, match=words):
            uploads.check_package(handle, LIMITS)


def test_the_meter_counts_bytes_really_inflated_and_stops_at_the_limit(tmp_path):
    path = write_workbook(tmp_path / "m.xlsx", text_rows(3000, 1000))  # a 3 MB sheet
    meter = Meter(1 << 20)
    with path.open("rb") as handle, MeteredZipFile(handle, meter) as archive, pytest.raises(
            LimitExceeded, match="unpack to more than 1 MB"):
        archive.read(SHEET)
    assert (1 << 20) < meter.used <= (1 << 20) + 64 * 1024  # stopped one chunk past the limit


def test_lying_declared_sizes_are_refused_having_inflated_no_more_than_declared(liar):
    meter = Meter(1 << 30)
    with liar.open("rb") as handle, MeteredZipFile(handle, meter) as archive, pytest.raises(zipfile.BadZipFile):
        archive.read(SHEET)
    assert meter.used <= 5000
    started = time.perf_counter()
    with pytest.raises(uploads.UNREADABLE):
        list(read_sheet(liar, "xlsx", dataclasses.replace(LIMITS, cell_chars=1000)))
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(("sheet_data", "words"), [
    (['<row r="1"><c r="A1"><v>1</v></c></row>', "<x/>" * 255_000], "more than 250,000 elements besides"),
    (['<row r="1">' + "<c/>" * 2001 + "</row>"], "Row 1 has more than 10 columns"),
    (['<row r="7"><c r="A7"/></row>'] * 51, "more than 50 rows"),
    (['<row r="51"><c r="A51"><v>1</v></c></row>'], "more than 50 rows"),
    (['<row r="2"><c r="K2"><v>1</v></c></row>'], "Row 2 has more than 10 columns"),
    (['<row r="3"><c r="B3" t="inlineStr"><is><t>' + "y" * 101 + "</t></is></c></row>"],
     "Row 3 has a cell longer than 100 characters"),
])
def test_the_scan_bounds_what_openpyxl_would_keep(tmp_path, sheet_data, words):
    """Elements openpyxl would hold (outside rows, inside one row, rows repeated) and the limits."""
    path = write_workbook(tmp_path / "s.xlsx", sheet_data)
    with pytest.raises(LimitExceeded, match=words):
        inspect_sheet(path, "xlsx", LIMITS)
    with pytest.raises(LimitExceeded, match=words):
        list(read_sheet(path, "xlsx", LIMITS))


def test_a_dtd_is_refused(tmp_path):
    path = tmp_path / "dtd.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
    with pytest.raises(uploads.UNREADABLE):
        inspect_sheet(path, "xlsx", LIMITS)


@pytest.mark.parametrize(("text", "words"), [
    ("a\n" * 51, "more than 50 rows"),
    ("a,b\n" + ",".join("c" * 11) + "\n", "Row 2 has more than 10 columns"),
    ("a," + "y" * 101 + "\n", "Row 1 has a cell longer than 100 characters"),
    ("y" * 2000, "Row 1 has a cell longer than 100 characters"),  # one long line, never read whole
    ("," * 2000, "Row 1 has more than 10 columns"),
])
def test_csv_limits(text, words):
    with pytest.raises(LimitExceeded, match=words):
        list(read_sheet(text.encode(), "csv", LIMITS))


def test_files_within_the_limits_read_whole(tmp_path):
    book = Workbook()
    for n in range(50):
        book.active.append([f"{n}", *["z" * 100] * 9])
    book.save(tmp_path / "ok.xlsx")
    assert inspect_sheet(tmp_path / "ok.xlsx", "xlsx", LIMITS) == 50
    rows = list(read_sheet(tmp_path / "ok.xlsx", "xlsx", LIMITS))
    assert len(rows) == 50 and rows[49][0] == "49" and len(rows[0]) == 10
    text = "\n".join(",".join(["q" * 100] * 10) for _ in range(50)).encode("gb18030")
    assert len(list(read_sheet(text, "csv", LIMITS))) == 50


def test_attachments_check_their_zip_packages_too(app, bomb, tmp_path):
    """Lesson, competition and evidence attachments (DOCX/XLSX/PPTX) are only stored, never parsed:
    their central directory is checked all the same, and nothing is left behind."""
    from courses.catalog.attachments import receive_file

    for name in ("bomb.xlsx", "bomb.docx", "bomb.pptx"):
        with bomb.open("rb") as stream, pytest.raises(LimitExceeded, match="unpack to more than 200 MB"):
            receive_file(name, stream, folder=str(tmp_path / "files"), max_bytes=20 << 20)
    assert not list((tmp_path / "files").iterdir())


# ---- the member import: refused in the upload request ----------------------------------------------

def upload(client, union, path: Path):
    with path.open("rb") as handle:
        return client.post(f"/unions/{union.id}/imports", data={"file": (handle, path.name)},
                           content_type="multipart/form-data")


def jobs_left() -> int:
    return db.session.scalar(select(func.count()).select_from(ImportJob))


def staged_files(app) -> list[Path]:
    return list((Path(app.config["UPLOAD_FOLDER"]) / "imports").glob("*"))


def test_the_bomb_and_the_liar_are_refused_at_once_in_little_memory(app, tree, make_admin, database_url, bomb, liar,
                                                                    tmp_path):
    """Through the grassroots admin's page, in a fresh process that measures the request alone."""
    admin = make_admin(tree.a1)
    db.session.commit()
    folder = tmp_path / "probe-uploads"
    env = {**os.environ, "CLASSROOM_ENV": "testing", "CLASSROOM_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "tests.upload_probe", database_url, str(folder), admin.mobile,
                           str(tree.a1.id), str(bomb), str(liar)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    refused_bomb, refused_liar = json.loads(done.stdout.strip().splitlines()[-1])
    assert refused_bomb["errors"] == ["The file would unpack to more than 200 MB; split it into smaller files."]
    assert refused_liar["errors"] == ["The file cannot be read."]
    for result in (refused_bomb, refused_liar):
        assert result["status"] == 200 and result["seconds"] < 1, result
        assert result["rss_growth_mb"] < 50 and result["traced_peak_mb"] < 50, result
    db.session.commit()
    assert jobs_left() == 0 and not list((folder / "imports").glob("*"))


@pytest.mark.parametrize("app_config", [SMALL])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_member_import_names_each_limit_and_leaves_no_job(app, tree, make_admin, tmp_path, fmt):
    client = login_client(app, make_admin(tree.a1))
    person = ["工人", "13700000001", "", "", "", "", "A1"]
    cases = {"rows": ([person] * 51, "The file has more than 50 rows; split it into smaller files."),
             "columns": ([person + ["x"] * 4], "Row 1 has more than 10 columns; remove the extra columns."),
             "cell": ([["工" * 101, *person[1:]]], "Row 1 has a cell longer than 100 characters; shorten it.")}
    for name, (rows, message) in cases.items():
        path = sheet_file(tmp_path / f"{name}.{fmt}", rows)
        page = upload(client, tree.a1, path).get_data(as_text=True)
        assert message in page, name
    assert jobs_left() == 0 and not staged_files(app)


def sheet_file(path: Path, rows: list[list]) -> Path:
    if path.suffix == ".csv":
        buffer = io.StringIO()
        for row in rows:
            buffer.write(",".join(row) + "\n")
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return path
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("app_config", [SMALL])
def test_a_file_at_the_limits_still_imports(app, tree, make_admin, tmp_path):
    client = login_client(app, make_admin(tree.a1))
    rows = [["姓名", "手机号", "工作单位", "工种", "技能等级", "群体", "基层工会", "备注", "", "x"]]
    rows += [[f"工人{n:02d}", f"1370000{n:04d}", "华东机电", "电工", "四级", "", "A1", "z" * 100, "", "x"]
             for n in range(49)]
    response = upload(client, tree.a1, sheet_file(tmp_path / "ok.xlsx", rows))
    job_id = int(response.location.rsplit("/", 1)[1])
    assert db.session.get(ImportJob, job_id).status == "ready"
    client.post(f"/unions/{tree.a1.id}/imports/{job_id}/commit")
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.created_count) == ("done", 49)


def test_a_job_meeting_a_limit_fails_with_the_message(app, tree, make_admin, tmp_path):
    """A staged file read again after the limits were lowered (or by another setting): the job ends
    failed with the limit, never left validating; the command line says the same and writes nothing."""
    client = login_client(app, make_admin(tree.a1))
    person = [["工人", f"1370000{n:04d}", "", "", "", "", "A1"] for n in range(30)]
    response = upload(client, tree.a1, sheet_file(tmp_path / "m.csv", person))
    job_id = int(response.location.rsplit("/", 1)[1])
    app.config["UPLOAD_MAX_ROWS"] = 20
    job = db.session.get(ImportJob, job_id)
    job.status = "validating"
    db.session.commit()
    jobs.validate_job(job_id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.message) == ("failed", "The file has more than 20 rows; split it into smaller files.")
    result = app.test_cli_runner().invoke(args=["members", "import", str(tmp_path / "m.csv"), "--union", "A1"])
    assert result.exit_code == 1 and "more than 20 rows" in result.output

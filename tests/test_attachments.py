"""Lesson attachments: checked by name, size, extension and content; stored under random names
outside static/; the file lives and dies with its row; downloads only for readers of the course."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classroom.accounts.models import Role
from classroom.database import utcnow
from classroom.domain import Invalid, NotAllowed
from classroom.extensions import db
from courses.catalog import attachments
from courses.catalog.attachments import clean_name, delete_attachment, extension_of, size_label, store_attachment
from courses.catalog.lessons import delete_lesson
from courses.catalog.models import Attachment
from courses.enrollment.services import enroll
from tests.factories import login_client
from tests.helpers import assert_inert, xss_payloads
from tests.markup import elements, texts

# ---- realistic files ----------------------------------------------------------------------------


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> "
       b"endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF" + struct.pack("<I", 26) + b"WEBPVP8L" + struct.pack("<I", 14) + b"\x2f\x00\x00\x00" + b"\x00" * 10
MP4 = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isomiso2" + b"\x00" * 64
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<html><script>alert(document.cookie)</script></html>"


def office_zip(*parts: str, content_types: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        for part in parts:
            archive.writestr(part, '<?xml version="1.0"?><document/>')
    return buffer.getvalue()


DOCX = office_zip("word/document.xml")
XLSX = office_zip("xl/workbook.xml")
PPTX = office_zip("ppt/presentation.xml")

GOOD_FILES = {
    "操作规程.pdf": (PDF, "application/pdf"),
    "电路图.png": (png_bytes(), "image/png"),
    "现场照片.JPG": (JPEG, "image/jpeg"),
    "照片.jpeg": (JPEG, "image/jpeg"),
    "动画.gif": (GIF, "image/gif"),
    "图.webp": (WEBP, "image/webp"),
    "讲义.docx": (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "工时表.xlsx": (XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "课件.pptx": (PPTX, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "旧讲义.doc": (OLE2, "application/msword"),
    "旧表.xls": (OLE2, "application/vnd.ms-excel"),
    "旧课件.ppt": (OLE2, "application/vnd.ms-powerpoint"),
    "示范视频.mp4": (MP4, "video/mp4"),
}


# ---- fixtures and helpers -------------------------------------------------------------------------

@pytest.fixture
def uploads(app, tmp_path) -> Path:
    """Uploads go to a temporary folder, never into the repository's instance/."""
    folder = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(folder)
    return folder


@pytest.fixture
def course(make_course):
    return make_course("安全用电", lessons=2)


@pytest.fixture
def lesson(course):
    return course.lessons[0]


@pytest.fixture
def teacher(app, instructor):
    return login_client(app, instructor)


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def attachment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment))


def upload_url(course, lesson) -> str:
    return f"/teach/courses/{course.id}/lessons/{lesson.id}/attachments"


def upload(client, course, lesson, data: bytes, name: str, **kwargs):
    """POST a file whose name arrives exactly as given: sent as RFC 5987 ``filename*`` (the test client's
    own encoder would cut a name at a quote and drop one with a line break)."""
    boundary = "----classroom-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''{quote(name, safe='')}"
            f"\r\nContent-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post(upload_url(course, lesson), data=body,
                       content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def download_url(course, lesson, attachment) -> str:
    return f"/courses/{course.id}/lessons/{lesson.position}/files/{attachment.id}"


def store(lesson, instructor, folder, data: bytes = PDF, name: str = "讲义.pdf", max_bytes: int = 1 << 20):
    return store_attachment(lesson, name, data, actor=instructor, now=utcnow(), folder=str(folder),
                            max_bytes=max_bytes)


def enrolled_worker(make_user, course, union, name: str = "李师傅"):
    worker = make_user(name, union=union)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    return worker


# ---- names and sizes (no database) -------------------------------------------------------------

@pytest.mark.parametrize("name", ["../evil.pdf", "..\\evil.pdf", "a/b.pdf", "C:\\temp\\x.pdf", "..", ".",
                                  "a\x00.pdf", "a\x1b[31m.pdf", "a\nb.pdf", "invoice\u202efdp.exe.pdf",
                                  "x" * 197 + ".pdf", "", "   "])
def test_unsafe_names_are_refused(name):
    with pytest.raises(Invalid):
        clean_name(name)


def test_names_keep_unicode_and_dots():
    assert clean_name("  职工安全..手册 v2.0.PDF ") == "职工安全..手册 v2.0.PDF"
    assert clean_name("x" * 196 + ".pdf") == "x" * 196 + ".pdf"
    assert extension_of("职工安全手册.PDF") == "pdf"


@pytest.mark.parametrize("name", ["setup.exe", "page.html", "page.svg", "README", ".pdf", "archive.zip", "a.pdf.exe"])
def test_unknown_extensions_are_refused(name):
    with pytest.raises(Invalid):
        extension_of(name)


def test_size_label():
    assert [size_label(n) for n in (512, 1536, 20 << 20, 3 << 30)] == ["512 B", "1.5 KB", "20 MB", "3 GB"]


# ---- the service ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", GOOD_FILES)
def test_every_allowed_kind_is_stored_under_a_random_name(app, uploads, lesson, instructor, name):
    data, content_type = GOOD_FILES[name]
    attachment = store(lesson, instructor, uploads, data, name)
    db.session.commit()
    ext = name.rsplit(".", 1)[1].lower()
    assert re.fullmatch(rf"[0-9a-f]{{32}}\.{ext}", attachment.stored_name)
    assert (attachment.original_name, attachment.content_type, attachment.size) == (name, content_type, len(data))
    assert attachment.uploaded_by_id == instructor.id
    assert files_in(uploads) == [attachment.stored_name]
    assert (uploads / attachment.stored_name).read_bytes() == data
    assert "static" not in uploads.parts


@pytest.mark.parametrize(("name", "data"), [
    ("讲义.pdf", EXE),  # a program renamed .pdf
    ("图.png", HTML),  # a web page renamed .png
    ("图.jpg", png_bytes()),  # the wrong kind of image
    ("讲义.docx", XLSX),  # a spreadsheet renamed .docx
    ("讲义.docx", office_zip("word/document.xml", content_types=False)),  # a zip, not an Office package
    ("讲义.docx", HTML + DOCX),  # a page with a package glued behind it
    ("讲义.docx", b"PK\x03\x04 not really a zip"),
    ("讲义.doc", DOCX),
    ("视频.mp4", b"\x00\x00\x00\x18moov" + b"\x00" * 20),
    ("图.webp", b"RIFF\x00\x00\x00\x00WAVEfmt "),
])
def test_content_must_match_the_extension(app, uploads, lesson, instructor, name, data):
    with pytest.raises(Invalid, match="Was it renamed"):
        store(lesson, instructor, uploads, data, name)
    db.session.rollback()
    assert attachment_count() == 0 and files_in(uploads) == []


def test_reads_no_more_than_the_limit_plus_one_byte(app, uploads, lesson, instructor):
    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def read(self, size=-1):
            assert size is not None and size > 0, "the whole stream was asked for"
            self.served += size
            return (b"%PDF-" + b"0" * size)[:size]

    stream = Endless()
    with pytest.raises(Invalid, match="larger than the limit of 1 KB"):
        store(lesson, instructor, uploads, stream, max_bytes=1024)
    assert stream.served <= 1025
    assert files_in(uploads) == []


def test_exactly_the_limit_is_accepted(app, uploads, lesson, instructor):
    data = PDF + b"%" * (4096 - len(PDF))
    assert store(lesson, instructor, uploads, data, max_bytes=4096).size == 4096
    with pytest.raises(Invalid, match="larger than"):
        store(lesson, instructor, uploads, data + b"%", max_bytes=4096)


def test_only_the_course_instructors_may_store_or_delete(app, uploads, lesson, instructor, make_user, tree):
    other = make_user("赵老师", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1))
    with pytest.raises(NotAllowed):
        store(lesson, other, uploads)
    assert files_in(uploads) == []
    attachment = store(lesson, instructor, uploads)
    db.session.commit()
    with pytest.raises(NotAllowed):
        delete_attachment(attachment, actor=other, folder=str(uploads))
    assert files_in(uploads) == [attachment.stored_name]


def test_the_file_goes_when_the_transaction_does_not_commit(app, uploads, lesson, instructor):
    store(lesson, instructor, uploads)
    assert len(files_in(uploads)) == 1
    db.session.rollback()
    assert files_in(uploads) == []
    store(lesson, instructor, uploads)
    db.session.remove()  # the end of a request that never committed
    assert files_in(uploads) == [] and attachment_count() == 0
    kept = store(lesson, instructor, uploads)
    db.session.commit()
    assert files_in(uploads) == [kept.stored_name]


def test_a_failed_database_write_leaves_no_file(app, uploads, lesson, instructor, monkeypatch):
    first = store(lesson, instructor, uploads)
    db.session.commit()
    monkeypatch.setattr(attachments.secrets, "token_hex", lambda _n: first.stored_name.split(".")[0])
    with pytest.raises(IntegrityError):
        store(lesson, instructor, uploads)  # the same stored name: the unique constraint refuses the row
    db.session.rollback()
    assert files_in(uploads) == [first.stored_name] and attachment_count() == 1


def test_a_deleted_file_goes_only_when_the_deletion_commits(app, uploads, lesson, instructor):
    attachment = store(lesson, instructor, uploads)
    db.session.commit()
    delete_attachment(attachment, actor=instructor, folder=str(uploads))
    db.session.rollback()
    assert files_in(uploads) == [attachment.stored_name] and attachment_count() == 1
    delete_attachment(db.session.get(Attachment, attachment.id), actor=instructor, folder=str(uploads))
    db.session.commit()
    assert files_in(uploads) == [] and attachment_count() == 0


def test_deleting_the_lesson_of_a_draft_removes_its_files(app, uploads, lesson, instructor):
    lesson.course.status = "draft"
    db.session.commit()
    store(lesson, instructor, uploads)
    store(lesson, instructor, uploads, png_bytes(), "图.png")
    db.session.commit()
    assert len(files_in(uploads)) == 2
    delete_lesson(lesson, actor=instructor, now=utcnow())
    db.session.commit()
    assert files_in(uploads) == [] and attachment_count() == 0


def test_deleting_a_published_lesson_waits_for_review_then_removes_its_files(app, tree, uploads, lesson, instructor,
                                                                             make_admin):
    from courses.catalog.review import decide_revision

    store(lesson, instructor, uploads)
    db.session.commit()
    revision = delete_lesson(lesson, actor=instructor, now=utcnow())
    db.session.commit()
    assert revision is not None and len(files_in(uploads)) == 1 and attachment_count() == 1  # still live
    decide_revision(revision, True, actor=make_admin(tree.city), now=utcnow())
    db.session.commit()
    assert files_in(uploads) == [] and attachment_count() == 0


# ---- upload and delete pages --------------------------------------------------------------------------

def test_the_lesson_page_offers_the_upload_form(app, uploads, teacher, course, lesson):
    html = teacher.get(f"/teach/courses/{course.id}/lessons/{lesson.id}/edit").get_data(as_text=True)
    upload = [e for e in elements(html) if e.form.get("enctype") == "multipart/form-data"]
    assert upload and upload[0].form.get("action") == upload_url(course, lesson) and upload[0].form["method"] == "post"
    assert [e.get("name") for e in upload if e.tag == "input"] == ["csrf_token", "file"]
    file_input = next(e for e in upload if e.get("name") == "file")
    assert file_input.get("type") == "file" and file_input.get("id") == "attachment-file"
    assert any(e.tag == "label" and e.get("for") == "attachment-file" for e in upload)
    assert file_input.get("accept") == ".pdf,.png,.jpg,.jpeg,.gif,.webp,.docx,.xlsx,.pptx,.doc,.xls,.ppt,.mp4"
    assert any(e.get("id") == file_input.get("aria-describedby") == "attachment-file-help" for e in upload)
    assert "up to 20 MB" in dict(texts(html, "id"))["attachment-file-help"]


def test_upload_download_and_delete(app, uploads, teacher, course, lesson, make_user, tree):
    response = teacher.post(upload_url(course, lesson), data={"file": (io.BytesIO(PDF), "安全操作规程 第1版.pdf")},
                            content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/teach/courses/{course.id}/lessons/{lesson.id}/edit#attachments")
    attachment = db.session.scalars(select(Attachment)).one()
    assert files_in(uploads) == [attachment.stored_name]
    page = teacher.get(f"/teach/courses/{course.id}/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert "安全操作规程 第1版.pdf uploaded." in page
    assert "安全操作规程 第1版.pdf" in page and f"{len(PDF)} B" in page

    worker = enrolled_worker(make_user, course, tree.b1)
    reader = login_client(app, worker)
    page = reader.get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    assert download_url(course, lesson, attachment) in page
    url = download_url(course, lesson, attachment)
    response = reader.get(url)
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('安全操作规程 第1版.pdf')}" in disposition

    response = teacher.post(f"{upload_url(course, lesson)}/{attachment.id}/delete", follow_redirects=True)
    assert "安全操作规程 第1版.pdf deleted." in response.get_data(as_text=True)
    assert attachment_count() == 0 and files_in(uploads) == []
    assert reader.get(url).status_code == 404


@pytest.mark.parametrize(("name", "data", "message"), [
    ("讲义.pdf", EXE, "The content of this file is not a .pdf file. Was it renamed?"),
    ("图.png", HTML, "The content of this file is not a .png file. Was it renamed?"),
    ("setup.exe", EXE, "Files of this type cannot be uploaded. Allowed: .pdf, .png"),
    ("空.pdf", b"", "The file is empty."),
    ("大.pdf", PDF + b"0" * 2048, "The file is larger than the limit of 1 KB."),
    ("../../etc/讲义.pdf", PDF, "The file name may not contain"),
    ("../讲义.pdf", PDF, "The file name may not contain"),
    ("..\\讲义.pdf", PDF, "The file name may not contain"),
    ("讲义\n.pdf", PDF, "The file name may not contain"),
    ("讲义\x00.pdf", PDF, "The file name may not contain"),
    ("发票\u202efdp.exe.pdf", PDF, "The file name may not contain"),
    ("长" * 197 + ".pdf", PDF, "The file name is longer than 200 characters."),
])
def test_refused_uploads_say_why_and_store_nothing(app, uploads, teacher, course, lesson, name, data, message):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    response = upload(teacher, course, lesson, data, name, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "was not uploaded: " + message in html.replace("&#34;", '"').replace("&#39;", "'")
    assert 'alert-danger' in html
    assert attachment_count() == 0
    assert files_in(uploads) == []


def test_an_upload_without_a_file_is_refused(app, uploads, teacher, course, lesson):
    response = teacher.post(upload_url(course, lesson), data={}, content_type="multipart/form-data",
                            follow_redirects=True)
    assert "Choose a file to upload." in response.get_data(as_text=True)
    assert attachment_count() == 0 and files_in(uploads) == []


def test_a_failed_commit_in_the_view_leaves_no_file(app, uploads, teacher, course, lesson):
    def fail_with_a_file_written(session):
        if session.info.get("attachments.written"):
            raise RuntimeError("the database went away")

    event.listen(Session, "before_commit", fail_with_a_file_written)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            upload(teacher, course, lesson, PDF, "讲义.pdf")
    finally:
        event.remove(Session, "before_commit", fail_with_a_file_written)
    assert attachment_count() == 0 and files_in(uploads) == []


def test_only_the_course_instructors_reach_upload_and_delete(app, uploads, teacher, course, lesson, instructor,
                                                             make_user, make_course, tree):
    attachment = store(lesson, instructor, uploads)
    db.session.commit()
    other_teacher = login_client(app, make_user("赵老师", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1)))
    worker = login_client(app, enrolled_worker(make_user, course, tree.a1))
    for client in (other_teacher, worker):
        assert upload(client, course, lesson, PDF, "x.pdf").status_code == 404
        assert client.post(f"{upload_url(course, lesson)}/{attachment.id}/delete").status_code == 404
    # ids that do not belong together
    other_course = make_course("另一门课")
    assert upload(teacher, other_course, lesson, PDF, "x.pdf").status_code == 404
    second = course.lessons[1]
    assert teacher.post(f"{upload_url(course, second)}/{attachment.id}/delete").status_code == 404
    assert attachment_count() == 1 and files_in(uploads) == [attachment.stored_name]


# ---- who may download ---------------------------------------------------------------------------

def test_a_worker_outside_the_course_scope_cannot_open_its_files(app, uploads, teacher, make_course, make_user,
                                                                 tree):
    course = make_course("西城区商场消防培训", scope=tree.district_b)
    lesson = course.lessons[0]
    assert upload(teacher, course, lesson, PDF, "消防预案.pdf").status_code == 302
    attachment = db.session.scalars(select(Attachment)).one()
    url = download_url(course, lesson, attachment)

    outsider = login_client(app, make_user("东城工人", union=tree.a1))
    assert outsider.get(f"/courses/{course.id}/lessons/1").status_code == 404
    assert outsider.get(url).status_code == 404

    insider = login_client(app, enrolled_worker(make_user, course, tree.b1))
    response = insider.get(url)
    assert response.status_code == 200
    assert quote("消防预案.pdf") in response.headers["Content-Disposition"]

    not_enrolled = login_client(app, make_user("西城工人", union=tree.b1))
    response = not_enrolled.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/courses/{course.id}")

    assert app.test_client().get(url).status_code == 302  # to the log-in page
    assert "/auth/login" in app.test_client().get(url).headers["Location"]
    assert teacher.get(url).status_code == 200


def test_the_attachment_must_belong_to_the_lesson_in_the_url(app, uploads, instructor, course, make_course,
                                                             make_user, tree):
    first, second = course.lessons
    attachment = store(first, instructor, uploads)
    other_course = make_course("另一门课")
    other = store(other_course.lessons[0], instructor, uploads, png_bytes(), "图.png")
    db.session.commit()
    reader = login_client(app, enrolled_worker(make_user, course, tree.b1))
    assert reader.get(download_url(course, first, attachment)).status_code == 200
    assert reader.get(download_url(course, second, attachment)).status_code == 404
    assert reader.get(f"/courses/{course.id}/lessons/1/files/{other.id}").status_code == 404
    assert reader.get(f"/courses/{course.id}/lessons/9/files/{attachment.id}").status_code == 404


def test_a_missing_file_is_a_404_not_an_error(app, uploads, instructor, course, lesson, make_user, tree):
    attachment = store(lesson, instructor, uploads)
    db.session.commit()
    (uploads / attachment.stored_name).unlink()
    reader = login_client(app, enrolled_worker(make_user, course, tree.b1))
    assert reader.get(download_url(course, lesson, attachment)).status_code == 404


# ---- names are user input ------------------------------------------------------------------------------

def test_file_names_with_xss_payloads_render_inert(app, uploads, teacher, course, lesson, make_user, tree):
    accepted = 0
    for payload in xss_payloads():
        name = payload.strip()[:190] + ".png"
        response = upload(teacher, course, lesson, png_bytes(), name, follow_redirects=True)
        html = response.get_data(as_text=True)
        assert_inert(html)
        refused = "/" in name or "\\" in name
        assert ("was not uploaded" in html) == refused, name
        accepted += not refused
    assert accepted >= 20
    stored = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert len(stored) == accepted == len(files_in(uploads))

    teach_page = teacher.get(f"/teach/courses/{course.id}/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert_inert(teach_page)
    assert teach_page.count("data-attachment-name") == accepted
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in teach_page

    reader = login_client(app, enrolled_worker(make_user, course, tree.b1))
    study_page = reader.get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    assert_inert(study_page)
    assert study_page.count("data-attachment-name") == accepted

    response = reader.get(download_url(course, lesson, stored[0]))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "\n" not in response.headers["Content-Disposition"]

"""Images in questions (issue 21): an editor attaches a picture to a question's stem through the platform's
upload checks (a file that is not an image is refused next to the field); the picture is stored through
the storage interface, served only to people who may practise the bank (404 for anyone else), shown with
its alt text in practice and on a mock-exam paper, and kept by the question's next version."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from sqlalchemy import func, select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.storage import storage
from courses.drills import mock
from courses.drills.banks import current_versions
from courses.drills.models import DrillQuestion, MockExam, QuestionBank, QuestionVersion
from tests.factories import login_client


def png() -> bytes:
    """A real 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


FORM = {"code": "P1", "kind": "single", "text": "图中仪表的读数是？", "options": "10\n20\n30", "answer": "B",
        "explanation": "指针在20。", "difficulty": "1", "tags": "仪表", "image_alt": "一块指针指向20的电压表"}


@pytest.fixture
def bank(tree):
    bank = QuestionBank(union_id=tree.district_a.id, title="仪表题库")
    db.session.add(bank)
    db.session.commit()
    return bank


@pytest.fixture
def editor(app, tree, make_admin):
    return login_client(app, make_admin(tree.district_a))


def upload(editor, bank, content: bytes, name: str, form=FORM, question_id: int | None = None):
    url = f"/drills/manage/banks/{bank.id}/questions/" + (str(question_id) if question_id else "new")
    return editor.post(url, data={**form, "image": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_a_file_that_is_not_an_image_is_refused_next_to_the_field(app, bank, editor):
    response = upload(editor, bank, b"%PDF-1.4 not a picture", "meter.png")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="image-error"' in page and "not a .png file" in page
    response = upload(editor, bank, b"%PDF-1.4", "rules.pdf")
    assert response.status_code == 200 and "Files of this type cannot be uploaded" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(DrillQuestion.id))) == 0


def test_the_image_is_shown_in_practice_served_to_practisers_only_and_kept_by_new_versions(app, tree, bank, editor,
                                                                                          make_user):
    assert upload(editor, bank, png(), "meter.png").status_code == 302
    question, version = current_versions(bank.id)["P1"]
    assert version.image_key and version.image_key.endswith(".png") and version.image_alt == FORM["image_alt"]
    assert storage().exists(f"drills/{version.image_key}")
    worker = login_client(app, make_user("李工", union=tree.a1))
    page = worker.get(f"/drills/banks/{bank.id}/practice").get_data(as_text=True)
    url = f"/drills/banks/{bank.id}/images/{version.id}"
    assert f'src="{url}" alt="{FORM["image_alt"]}"' in page
    response = worker.get(url)
    assert response.status_code == 200 and response.data == png() and response.mimetype == "image/png"
    outsider = login_client(app, make_user("外人", union=tree.b1))
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/drills/banks/{bank.id}/images/999999").status_code == 404
    assert app.test_client().get(url).status_code in (302, 401)  # a visitor is sent to log in

    edited = {**FORM, "text": "图中电压表的读数是？"}  # a change without a new image keeps the picture
    assert editor.post(f"/drills/manage/banks/{bank.id}/questions/{question.id}", data=edited).status_code == 302
    newer = current_versions(bank.id)["P1"][1]
    assert (newer.number, newer.image_key, newer.image_alt) == (2, version.image_key, version.image_alt)
    assert worker.get(f"/drills/banks/{bank.id}/images/{newer.id}").status_code == 200
    assert editor.post(f"/drills/manage/banks/{bank.id}/questions/{question.id}",
                       data={**edited, "remove_image": "y"}).status_code == 302
    assert current_versions(bank.id)["P1"][1].image_key is None
    assert db.session.get(QuestionVersion, version.id).image_key == version.image_key  # the old version keeps it


def test_the_image_on_a_mock_paper_is_for_its_owner(app, tree, bank, editor, make_user):
    upload(editor, bank, png(), "meter.png")
    exam = MockExam(bank_id=bank.id, title="仪表模拟", minutes=10, pass_score=60,
                    blueprint=[{"kind": "single", "count": 1, "points": 1, "difficulty": None, "tag": None}])
    db.session.add(exam)
    db.session.commit()
    person = make_user("李工", union=tree.a1)
    attempt = mock.start(person, exam, now=utcnow())
    db.session.commit()
    version_id = attempt.paper[0][0]
    client = login_client(app, person)
    url = f"/drills/mock/attempts/{attempt.id}/images/{version_id}"
    assert f'src="{url}"' in client.get(f"/drills/mock/attempts/{attempt.id}").get_data(as_text=True)
    assert client.get(url).data == png()
    assert client.get(f"/drills/mock/attempts/{attempt.id}/images/{version_id + 1}").status_code == 404
    assert login_client(app, make_user("别人", union=tree.a1)).get(url).status_code == 404

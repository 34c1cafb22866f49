"""Question banks (issue 21): scope, versions, blanks compared after normalising, and the XLSX import
(preview of every row's errors, all or nothing, idempotent by code) with its template and export."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from classroom.accounts.models import Role
from classroom.exports import xlsx_bytes
from classroom.extensions import db
from courses.drills import content
from courses.drills.models import DrillImport, DrillQuestion, QuestionBank, QuestionVersion
from courses.drills.question_file import HEADER
from tests.factories import login_client
from tests.helpers import changed_rows, database_rows

ERROR_ROWS = re.compile(r"<tr><td>(\d+)</td>")


@pytest.fixture
def bank(tree):
    bank = QuestionBank(union_id=tree.a1.id, title="电工题库", trade="电工", skill_level=4)
    db.session.add(bank)
    db.session.commit()
    return bank


def question_rows(count: int) -> list[list[str]]:
    kinds = ["单选", "多选", "判断", "填空"]
    rows = []
    for n in range(count):
        kind = kinds[n % 4]
        options = ["12伏", "24伏", "36伏", "48伏"] if kind in ("单选", "多选") else ["", "", "", ""]
        answer = {"单选": "C", "多选": "AB", "判断": "对", "填空": "50|五十"}[kind]
        rows.append([f"Q{n:05d}", kind, f"第{n}题：题干", *options, "", "", answer, "解析", str(1 + n % 3),
                     "安全用电、电工基础" if n % 2 else "电工基础"])
    return rows


def upload(client, bank_id: int, rows: list[list[str]], name: str = "questions.xlsx"):
    body = xlsx_bytes("题库", HEADER, rows)
    return client.post(f"/drills/manage/banks/{bank_id}/import", data={"file": (io.BytesIO(body), name)},
                       content_type="multipart/form-data")


def latest_import() -> DrillImport:
    return db.session.scalars(select(DrillImport).order_by(DrillImport.id.desc())).first()


def test_blank_answers_are_compared_after_nfkc_trimming_and_case():
    answer = [["Ohm", "欧姆"], ["50"]]
    assert content.is_right("blank", answer, ["  ＯＨＭ ", "５０"])
    assert content.is_right("blank", answer, ["欧姆", " 50"])
    assert not content.is_right("blank", answer, ["Ohm", "60"])
    assert not content.is_right("blank", answer, ["Ohm"])
    assert content.is_right("multiple", [0, 2], [2, 0]) and not content.is_right("multiple", [0, 2], [0])
    assert content.is_right("true_false", [1], ["1"]) and not content.is_right("single", [1], ["x"])


def test_editors_in_scope_only(app, tree, bank, make_user, make_admin):
    outsider = make_user("外人", union=tree.a2, role=(Role.INSTRUCTOR, tree.a2))
    worker = make_user("工人", union=tree.a1)
    for person in (outsider, worker):
        client = login_client(app, person)
        assert client.get(f"/drills/manage/banks/{bank.id}").status_code == 404
        assert client.get(f"/drills/manage/banks/{bank.id}/export.xlsx").status_code == 404
    assert login_client(app, worker).get("/drills/manage").status_code == 404
    above = login_client(app, make_admin(tree.district_a))
    assert above.get(f"/drills/manage/banks/{bank.id}").status_code == 200
    teacher = login_client(app, make_user("讲师", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1)))
    response = teacher.post("/drills/manage", data={"union_id": tree.a2.id, "title": "越权"})
    assert response.status_code == 200 and db.session.scalar(select(func.count(QuestionBank.id))) == 1
    assert teacher.post("/drills/manage", data={"union_id": tree.a1.id, "title": "钳工题库", "trade": "钳工",
                                                "skill_level": "3"}).status_code == 302
    assert db.session.scalar(select(QuestionBank).filter_by(title="钳工题库")).skill_level == 3


def test_an_edit_makes_a_new_version_and_keeps_the_old(app, tree, bank, make_user):
    teacher = login_client(app, make_user("讲师", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1)))
    form = {"code": "E-1", "kind": "single", "text": "安全电压上限？", "options": "12\n24\n36", "answer": "C",
            "explanation": "36伏", "difficulty": "1", "tags": "安全用电"}
    assert teacher.post(f"/drills/manage/banks/{bank.id}/questions/new", data=form).status_code == 302
    question = db.session.scalar(select(DrillQuestion).filter_by(code="E-1"))
    url = f"/drills/manage/banks/{bank.id}/questions/{question.id}"
    assert teacher.post(url, data={**form, "answer": "Z"}).status_code == 200  # refused next to the field
    assert teacher.post(url, data=form).status_code == 302  # the same content: no new version
    assert teacher.post(url, data={**form, "answer": "B"}).status_code == 302
    versions = db.session.scalars(select(QuestionVersion).filter_by(question_id=question.id)
                                  .order_by(QuestionVersion.number)).all()
    assert [(v.number, v.answer) for v in versions] == [(1, [2]), (2, [1])]
    db.session.refresh(question)
    assert question.version == 2
    assert teacher.post(f"/drills/manage/banks/{bank.id}/questions/new", data=form).status_code == 200  # code taken
    assert "Leave" not in teacher.get(url).get_data(as_text=True)


def test_import_of_2000_questions_preview_all_or_nothing_idempotent(app, tree, bank, make_user):
    teacher = login_client(app, make_user("讲师", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1)))
    assert teacher.get("/drills/manage/template.xlsx").status_code == 200
    good = question_rows(2000)
    bad = [list(row) for row in good]
    bad[10][0] = ""  # no code → file row 12
    bad[100][1] = "问答"  # unknown type → row 102
    bad[500][9] = "E"  # an option the question does not have → row 502
    bad[1200][0] = bad[1199][0]  # the same code twice → row 1202
    bad[1998][9] = "也许"  # row 2000 is a true/false question (1998 % 4 == 2)
    response = upload(teacher, bank.id, bad)
    assert response.status_code == 302
    page = teacher.get(response.headers["Location"]).get_data(as_text=True)
    assert sorted({int(row) for row in ERROR_ROWS.findall(page)}) == [12, 102, 502, 1202, 2000]
    staged = latest_import()
    assert staged.counts["errors"] == 5 and staged.counts["rows"] == 2000
    before = database_rows(skip=("audit_event", "drill_import", "login_session"))
    teacher.post(response.headers["Location"])  # a commit of a file with errors writes nothing
    assert not changed_rows(before, database_rows(skip=("audit_event", "drill_import", "login_session")))

    response = upload(teacher, bank.id, good)
    assert latest_import().counts == {"create": 2000, "update": 0, "unchanged": 0, "rows": 2000, "errors": 0}
    assert teacher.post(response.headers["Location"]).status_code == 302
    assert db.session.scalar(select(func.count(DrillQuestion.id))) == 2000
    assert teacher.post(response.headers["Location"]).status_code == 200  # not twice
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == 2000

    before = database_rows(skip=("audit_event", "drill_import", "login_session"))
    response = upload(teacher, bank.id, good)
    assert latest_import().counts["unchanged"] == 2000
    assert teacher.post(response.headers["Location"]).status_code == 302
    assert not changed_rows(before, database_rows(skip=("audit_event", "drill_import", "login_session")))

    exported = teacher.get(f"/drills/manage/banks/{bank.id}/export.xlsx")
    sheet = load_workbook(io.BytesIO(exported.data)).worksheets[0]
    assert sheet.max_row == 2001
    rows = [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(min_row=2, values_only=True)]
    upload(teacher, bank.id, rows)
    assert latest_import().counts["unchanged"] == 2000  # the export reads back as it is


def test_an_import_changing_one_question_makes_one_version(app, tree, bank, make_user):
    teacher = login_client(app, make_user("讲师", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1)))
    rows = question_rows(8)
    teacher.post(upload(teacher, bank.id, rows).headers["Location"])
    rows[3][2] = "改过的题干"
    teacher.post(upload(teacher, bank.id, rows).headers["Location"])
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == 9
    assert upload(teacher, bank.id, [], name="notes.txt").status_code == 200

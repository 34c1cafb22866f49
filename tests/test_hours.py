"""The hours ledger, transcripts and union reports."""

from __future__ import annotations

import csv
import io
import re  # noqa: F401
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import event, func, select, update

from classroom.audit import AuditEvent
from classroom.database import statement_engines, utcnow
from classroom.extensions import db
from classroom.timefmt import local_date
from classroom.unions.models import Membership
from courses.catalog.models import Lesson
from courses.enrollment.services import enroll
from courses.hours import queries as hours_queries
from courses.hours import services as hours
from courses.hours.models import HoursEntry, HoursMonth
from courses.study import services as study
from tests.factories import login_client
from tests.helpers import FORMULA_STARTS, assert_inert_cell, formula_payloads, transfer
from tests.markup import elements, input_value
from tests.pdfs import BUNDLED_FONT_NAME, embedded_truetype_fonts, pdf_text, qr_codes
from tests.xlsx_raw import assert_xlsx_inert

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the day in the platform's timezone, as pages count it


def credit(person, minutes, *, on=None, key=None, category="电工"):
    entry = hours.record_entry(user_id=person.id, minutes=minutes, source="external", category=category,
                               source_key=key or f"test:{person.id}:{minutes}:{on}:{utcnow().timestamp()}",
                               earned_on=on or TODAY, now=utcnow(), title="测试")
    db.session.commit()
    return entry


def total(person) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(HoursEntry.minutes), 0))
                             .where(HoursEntry.user_id == person.id))


def studied_and_completed(worker, course) -> Lesson:
    """``worker`` enrolls in ``course``, studies its first lesson for five minutes and completes it."""
    enroll(worker, course, now=utcnow())
    db.session.commit()
    lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.position))
    start = utcnow()
    study.open_lesson(worker, lesson, now=start)
    for beat in range(30, 301, 30):
        study.heartbeat(worker, lesson, now=start + timedelta(seconds=beat))
    study.complete_lesson(worker, lesson, now=start)
    db.session.commit()
    return lesson


def test_completing_a_lesson_credits_it_once(tree, make_course, make_user):
    worker = make_user(union=tree.a1)
    lesson = studied_and_completed(worker, make_course(lessons=1))
    study.complete_lesson(worker, lesson, now=utcnow())  # completed again
    db.session.commit()
    entry = db.session.scalar(select(HoursEntry))
    assert (entry.minutes, entry.source, entry.union_id, entry.category) == (10, "lesson", tree.a1.id, "电工")
    assert hours.credit_lesson(lesson, worker.id, now=utcnow()) is None  # the same key: nothing
    assert total(worker) == 10


def test_entries_keep_the_union_where_they_were_earned(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    credit(worker, 90)
    transfer(worker, tree.b1, approver=make_admin(tree.b1))
    credit(worker, 45)
    unions = dict(db.session.execute(select(HoursEntry.minutes, HoursEntry.union_id)).all())
    assert unions == {90: tree.a1.id, 45: tree.b1.id}
    city = login_client(app, make_admin(tree.city, "市管理员"))
    page = city.get(f"/reports/hours?union={tree.city.id}").get_data(as_text=True)
    assert 'data-total-minutes="135"' in page
    assert input_value(page, "year") == str(TODAY.year)  # the form names the year shown
    district_a = city.get(f"/reports/hours?union={tree.district_a.id}").get_data(as_text=True)
    district_b = city.get(f"/reports/hours?union={tree.district_b.id}").get_data(as_text=True)
    assert 'data-total-minutes="90"' in district_a and 'data-total-minutes="45"' in district_b


def test_no_union_hours_show_to_city_admins(app, tree, make_user, make_admin):
    loner = make_user("无会籍")
    credit(loner, 60)
    assert db.session.scalar(select(HoursEntry.union_id)) is None
    page = login_client(app, make_admin(tree.city)).get(f"/reports/hours?union={tree.city.id}").get_data(as_text=True)
    assert "No union" in page


def test_a_district_admin_sees_only_its_district(app, tree, make_user, make_admin):
    credit(make_user("东城", union=tree.a1), 100)
    credit(make_user("西城", union=tree.b1), 200)
    admin = make_admin(tree.district_a)
    client = login_client(app, admin)
    page = client.get("/reports/hours").get_data(as_text=True)
    assert 'data-total-minutes="100"' in page and "西城" not in page
    for crafted in (f"/reports/hours?union={tree.district_b.id}", f"/reports/hours?union={tree.b1.id}",
                    f"/reports/hours?union={tree.city.id}&format=xlsx", f"/reports/hours?union={tree.b1.id}&by=trade"):
        assert client.get(crafted).status_code == 404, crafted
    denied = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "scope.denied"))
    assert denied == 4
    drill = client.get(f"/reports/hours?union={tree.a1.id}").get_data(as_text=True)
    assert "东城" in drill and "西城" not in drill


def test_breakdowns_by_child_trade_group_category_and_source(app, tree, make_user, make_admin):
    electrician = make_user("电工甲", union=tree.a1, trade="电工", worker_group="courier")
    welder = make_user("焊工乙", union=tree.a2, trade="焊工")
    credit(electrician, 90, category="电工")
    credit(welder, 45, category="焊工")
    client = login_client(app, make_admin(tree.district_a))
    unions = client.get(f"/reports/hours?union={tree.district_a.id}").get_data(as_text=True)
    assert elements(unions, "tr", data_union_row=str(tree.a1.id), data_union_minutes="90")
    for by, expected in (("trade", ["电工", "焊工"]), ("group", ["Courier"]), ("category", ["电工", "焊工"]),
                         ("source", ["External training"])):
        page = client.get(f"/reports/hours?union={tree.district_a.id}&by={by}").get_data(as_text=True)
        assert all(value in page for value in expected), by


def test_periods_read_the_same_ledger(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    year = TODAY.year
    credit(worker, 30, on=date(year, 1, 15))
    credit(worker, 60, on=date(year, 5, 2))
    credit(worker, 120, on=date(year, 5, 30))
    client = login_client(app, make_admin(tree.a1))
    base = f"/reports/hours?union={tree.a1.id}&year={year}"
    expectations = {"&period=year": 210, "&period=quarter&part=2": 180, "&period=month&part=5": 180,
                    "&period=month&part=1": 30, f"&period=custom&start={year}-05-01&end={year}-05-10": 60}
    for query, minutes in expectations.items():
        assert f'data-total-minutes="{minutes}"' in client.get(base + query).get_data(as_text=True), query


def test_targets_are_inherited_and_counted(app, tree, make_user, make_admin):
    tree.district_a.annual_target_minutes = 100
    db.session.commit()
    meets, short = make_user("达标", union=tree.a1), make_user("未达标", union=tree.a1)
    credit(meets, 120)
    credit(short, 30)
    assert hours_queries.target_for_user(meets.id) == 100
    client = login_client(app, make_admin(tree.district_a))
    page = client.get(f"/reports/hours?union={tree.district_a.id}").get_data(as_text=True)
    assert elements(page, data_target_share="50")
    tree.a1.annual_target_minutes = 20  # the nearest target wins
    db.session.commit()
    assert hours_queries.target_for_user(short.id) == 20
    page = client.get(f"/reports/hours?union={tree.district_a.id}").get_data(as_text=True)
    assert elements(page, data_target_share="100")


def test_admins_set_annual_targets_within_their_scope(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    district = login_client(app, make_admin(tree.district_a))
    response = district.post(f"/unions/{tree.district_a.id}/target", data={"hours": "40"})
    assert response.status_code == 302
    db.session.refresh(tree.district_a)
    assert tree.district_a.annual_target_minutes == 40 * app.config["MINUTES_PER_CREDIT_HOUR"]
    assert hours_queries.target_for_user(worker.id) == 40 * app.config["MINUTES_PER_CREDIT_HOUR"]
    audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "union.target")).all()
    assert [(event.object_id, event.data["minutes"]) for event in audited] == [
        (tree.district_a.id, 40 * app.config["MINUTES_PER_CREDIT_HOUR"])]
    for bad in ("-1", "1001", "abc"):
        district.post(f"/unions/{tree.district_a.id}/target", data={"hours": bad})
        db.session.refresh(tree.district_a)
        assert tree.district_a.annual_target_minutes == 40 * app.config["MINUTES_PER_CREDIT_HOUR"], bad
    district.post(f"/unions/{tree.district_a.id}/target", data={"hours": ""})  # empty: inherit again
    db.session.refresh(tree.district_a)
    assert tree.district_a.annual_target_minutes is None
    for union in (tree.district_b, tree.b1, tree.city):  # outside the district admin's subtree
        assert district.post(f"/unions/{union.id}/target", data={"hours": "10"}).status_code == 404
        db.session.refresh(union)
        assert union.annual_target_minutes is None
    grassroots = login_client(app, make_admin(tree.a1, "基层管理员"))
    assert grassroots.post(f"/unions/{tree.district_a.id}/target", data={"hours": "5"}).status_code == 404


def test_admins_record_external_training_and_adjustments(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    admin = make_admin(tree.a1)
    client = login_client(app, admin)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    client.post(f"/hours/members/{worker.id}/external", data={
        "title": "焊接技能培训", "provider": "市职业技能鉴定中心", "earned_on": TODAY.isoformat(), "minutes": "180",
        "evidence": (io.BytesIO(png), "证明.png")}, content_type="multipart/form-data")
    client.post(f"/hours/members/{worker.id}/adjust", data={"minutes": "-30", "reason": "重复登记"})
    client.post(f"/hours/members/{worker.id}/adjust", data={"minutes": "10", "reason": ""})
    assert sorted(db.session.scalars(select(HoursEntry.minutes))) == [-30, 180]
    assert db.session.scalar(select(HoursEntry.evidence_name)) == "证明.png"
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"hours.external", "hours.adjust"} <= actions
    stranger = make_user(union=tree.b1)
    assert client.get(f"/hours/members/{stranger.id}").status_code == 404
    assert client.post(f"/hours/members/{stranger.id}/adjust", data={"minutes": "60", "reason": "x"}).status_code == 404
    # The admin's own row in a report opens their own hours page; they never credit themselves.
    assert client.get(f"/hours/members/{admin.id}").headers["Location"].endswith("/me/hours")
    assert client.post(f"/hours/members/{admin.id}/adjust", data={"minutes": "60", "reason": "x"}).status_code == 404
    external = db.session.scalar(select(HoursEntry).where(HoursEntry.source == "external"))
    page = client.get(f"/hours/members/{worker.id}").get_data(as_text=True)
    assert elements(page, "a", href=f"/hours/entries/{external.id}/evidence") and "重复登记" in page
    for reader in (client, login_client(app, worker)):  # the admin over them, and the worker themself
        download = reader.get(f"/hours/entries/{external.id}/evidence")
        assert download.status_code == 200 and download.data == png
        assert download.headers["Content-Disposition"].startswith("attachment")
    outsider = login_client(app, make_admin(tree.b1, "西城管理员"))
    assert outsider.get(f"/hours/entries/{external.id}/evidence").status_code == 404
    assert login_client(app, stranger).get(f"/hours/entries/{external.id}/evidence").status_code == 404


def test_the_transcript_page_and_pdf(app, tree, make_user):
    worker = make_user("张小明", union=tree.a1)
    credit(worker, 90)
    client = login_client(app, worker)
    page = client.get("/me/hours").get_data(as_text=True)
    assert 'data-minutes="90"' in page and f"/me/hours/{TODAY.year}.pdf" in page
    response = client.get(f"/me/hours/{TODAY.year}.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "张小明" in text and "90" in text
    [url] = qr_codes(response.data)
    assert url.startswith("http://localhost/hours/verify/")  # the request's own root: no PUBLIC_BASE_URL in tests
    verify = app.test_client().get(url.removeprefix("http://localhost"))
    body = verify.get_data(as_text=True)
    assert verify.status_code == 200 and 'data-verified-minutes="90"' in body and "张*明" in body
    assert app.test_client().get("/hours/verify/forged-token").status_code == 404


def test_the_pdf_embeds_the_cjk_font(app, tree, make_user):
    worker = make_user("李四", union=tree.a1, locale="zh_CN")
    credit(worker, 45)
    data = login_client(app, worker).get(f"/me/hours/{TODAY.year}.pdf").data
    assert embedded_truetype_fonts(data) == {BUNDLED_FONT_NAME}  # the shipped font, as TrueType (/FontFile2)
    text = pdf_text(data)  # pdfminer.six, independent of pypdf
    assert "姓名：李四" in text and "累计学时：1.0 学时（45 分钟）" in text


def pdf_date(moment: datetime) -> datetime:
    """A time as a PDF's metadata holds it (to the second)."""
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0)


def test_the_transcript_metadata_comes_from_the_record(app, tree, make_user):
    """Title, Author, Creator and Subject name the document and its issuer; CreationDate and ModDate are
    when the year's ledger last changed, not ReportLab's invariant 2000-01-01, so downloads stay identical."""
    worker = make_user("李四", union=tree.a1, locale="zh_CN")
    first = credit(worker, 45)
    client = login_client(app, worker)
    data = client.get(f"/me/hours/{TODAY.year}.pdf").data
    assert client.get(f"/me/hours/{TODAY.year}.pdf").data == data
    meta = PdfReader(io.BytesIO(data)).metadata
    assert (meta.title, meta.author, meta.creator, meta.subject) == (
        f"学时证明 {TODAY.year}", "职工学堂 · 市总工会职工终身学习平台", "职工学堂 Worker Classroom", f"{TODAY.year}年学时")
    assert meta.creation_date == meta.modification_date == pdf_date(first.created_at)
    assert b"anonymous" not in data and b"D:20000101" not in data
    second = credit(worker, 30)
    assert PdfReader(io.BytesIO(client.get(f"/me/hours/{TODAY.year}.pdf").data)).metadata.creation_date == \
        pdf_date(second.created_at)
    quiet_year = TODAY.year - 3  # nothing recorded: the end of that year
    meta = PdfReader(io.BytesIO(client.get(f"/me/hours/{quiet_year}.pdf").data)).metadata
    assert meta.creation_date == pdf_date(datetime(quiet_year + 1, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")))


def test_an_english_speaking_worker_gets_an_english_transcript(app, tree, make_user):
    worker = make_user("张小明", union=tree.a1, locale="en")
    credit(worker, 90)
    data = login_client(app, worker).get(f"/me/hours/{TODAY.year}.pdf").data
    text = pdf_text(data)
    for line in ("Training hours transcript", "Name: 张小明", f"Union: {tree.a1.name}", f"Year: {TODAY.year}",
                 "Total: 2.0 training hours (90 minutes)", "+90 min", "测试", "scan the QR code on the right to verify",
                 "Worker Classroom · lifelong learning platform of the city federation of trade unions"):
        assert line in text, line
    assert not [label for label in ("姓名", "所在工会", "年度", "累计学时", "分钟", "出具日期", "终身学习平台")
                if label in text]  # names stay as written, the labels are English
    meta = PdfReader(io.BytesIO(data)).metadata
    assert (meta.title, meta.subject) == (f"Training hours transcript {TODAY.year}", f"Training hours {TODAY.year}")
    [url] = qr_codes(data)  # the same verification as in Chinese
    assert 'data-verified-minutes="90"' in app.test_client().get(url.removeprefix("http://localhost")).get_data(
        as_text=True)


def test_exports_neutralize_formulas_and_mask_mobiles(app, tree, make_user, make_admin):
    payloads = formula_payloads()
    for index, payload in enumerate(payloads):
        person = make_user(payload[:50], union=tree.a1, employer=payload[:100], trade=payload[:50],
                           mobile=f"1380013{index:04d}")
        credit(person, 45 + index)
    own_admin = login_client(app, make_admin(tree.a1, "基层管理员"))
    district_admin = login_client(app, make_admin(tree.district_a, "区管理员"))
    for client, masked in ((own_admin, False), (district_admin, False)):  # both administer A1's members
        xlsx = client.get(f"/reports/hours?union={tree.a1.id}&format=xlsx").data
        rows = list(load_workbook(io.BytesIO(xlsx)).active.iter_rows(min_row=2))
        by_name = {row[0].value: row for row in rows}
        for payload in payloads:
            row = by_name[payload[:50].replace("\r", "\n")]  # XML reads a raw CR back as LF
            for cell, original in ((row[0], payload[:50]), (row[2], payload[:100]), (row[3], payload[:50])):
                assert_inert_cell(cell, original)  # name, employer, trade
        assert assert_xlsx_inert(xlsx) >= 3 * sum(payload.startswith(FORMULA_STARTS) for payload in payloads)
        mobiles = [row[1].value for row in rows]
        assert all(("****" in mobile) == masked for mobile in mobiles), mobiles
        text = client.get(f"/reports/hours?union={tree.a1.id}&format=csv").data.decode("utf-8-sig")
        csv_rows = list(csv.reader(io.StringIO(text)))[1:]
        written = {row[0].removeprefix("'"): row for row in csv_rows}
        for payload in payloads:
            assert_inert_cell(written[payload[:50]][0], payload[:50])
            assert_inert_cell(written[payload[:50]][2], payload[:100])
            assert_inert_cell(written[payload[:50]][3], payload[:50])
        assert all(("****" in row[1]) == masked for row in csv_rows)


def test_a_members_entries_export_keeps_titles_and_notes_inert(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    admin = make_admin(tree.a1)
    payloads = formula_payloads()
    for payload in payloads:
        hours.add_adjustment(worker, minutes=5, reason=payload, actor=admin, now=utcnow())
    db.session.commit()
    client = login_client(app, admin)
    xlsx = client.get(f"/hours/members/{worker.id}?format=xlsx").data
    rows = list(load_workbook(io.BytesIO(xlsx)).active.iter_rows(min_row=2))
    assert len(rows) == len(payloads)
    notes = {row[3].value: row[3] for row in rows}
    for payload in payloads:
        assert_inert_cell(notes[payload.strip()[:500].replace("\r", "\n")], payload.strip()[:500])
    assert assert_xlsx_inert(xlsx) >= sum(payload.strip().startswith(FORMULA_STARTS) for payload in payloads)
    text = client.get(f"/hours/members/{worker.id}?format=csv").data.decode("utf-8-sig")
    csv_rows = list(csv.reader(io.StringIO(text)))[1:]
    for row in csv_rows:
        assert not row[2].startswith(("=", "+", "-", "@", "\t", "\r")) and not row[3].startswith(("=", "+", "-", "@"))
    assert {row[5] for row in csv_rows} == {tree.a1.name}


def queries(client, url) -> int:
    count = 0

    def counter(_conn, _cursor, statement, *args):
        nonlocal count
        count += not statement.startswith("BEGIN")

    for engine in statement_engines(db.engine):
        event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        for engine in statement_engines(db.engine):
            event.remove(engine, "before_cursor_execute", counter)
    return count


def test_report_queries_stay_flat_as_members_and_entries_grow(app, tree, make_user, make_admin):
    client = login_client(app, make_admin(tree.city))
    credit(make_user(union=tree.a1), 45)
    urls = [f"/reports/hours?union={tree.city.id}", f"/reports/hours?union={tree.a1.id}",
            f"/reports/hours?union={tree.city.id}&by=trade", f"/reports/hours?union={tree.city.id}&period=month&part=1"]
    for url in urls:
        client.get(url)  # warm up: the first request of a session asks a few one-off questions
    before = [queries(client, url) for url in urls]
    for union in (tree.a1, tree.a2, tree.b1, tree.i1):
        for index in range(15):
            person = make_user(f"员工{index}", union=union, trade="电工")
            credit(person, 30 + index)
            credit(person, 15, on=TODAY - timedelta(days=40))
    after = [queries(client, url) for url in urls]
    assert after == before, (before, after)


def test_hours_check_and_backfill(app, runner, tree, make_course, make_user):
    from courses.hours.models import HoursUnionYear, HoursYear

    worker = make_user(union=tree.a1)
    studied_and_completed(worker, make_course(lessons=1))
    for table in (HoursEntry, HoursMonth, HoursYear, HoursUnionYear):  # as if completed before the ledger existed
        db.session.execute(table.__table__.delete())
    db.session.commit()
    first = runner.invoke(args=["hours", "backfill"])
    second = runner.invoke(args=["hours", "backfill"])
    assert first.exit_code == 0 and "1 entries credited" in first.output
    assert second.exit_code == 0 and "0 entries credited" in second.output
    assert total(worker) == 10
    check = runner.invoke(args=["hours", "check"])
    assert check.exit_code == 0, check.output
    db.session.execute(update(HoursMonth).values(minutes=HoursMonth.minutes + 5))
    db.session.commit()
    broken = runner.invoke(args=["hours", "check"])
    assert broken.exit_code == 1 and "ledger 10, rollup 15" in broken.output


def test_backfill_credits_attendance_recorded_before_the_ledger_once(app, runner, tree, make_course, make_user):
    from courses.attendance.models import Attendance
    from courses.catalog.models import ClassSession

    course = make_course(lessons=0, sessions=2)
    first, second = db.session.scalars(select(ClassSession).order_by(ClassSession.id)).all()
    steady, flipped, absent = (make_user(name, union=tree.a1) for name in ("甲", "乙", "丙"))
    db.session.add_all([  # rows from before the ledger: no entries exist for them
        Attendance(session_id=first.id, user_id=steady.id, status="present", method="roster", changes=0),
        Attendance(session_id=first.id, user_id=flipped.id, status="late", method="roster", changes=2),
        Attendance(session_id=second.id, user_id=flipped.id, status="present", method="checkin", changes=0),
        Attendance(session_id=first.id, user_id=absent.id, status="absent", method="roster", changes=1),
    ])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(HoursEntry)) == 0 and course.id
    first_run = runner.invoke(args=["hours", "backfill"])
    second_run = runner.invoke(args=["hours", "backfill"])
    assert first_run.exit_code == 0 and "3 entries credited" in first_run.output, first_run.output
    assert second_run.exit_code == 0 and "0 entries credited" in second_run.output
    assert (total(steady), total(flipped), total(absent)) == (90, 180, 0)
    keys = set(db.session.scalars(select(HoursEntry.source_key)))
    assert keys == {f"session:{first.id}:{steady.id}:0", f"session:{first.id}:{flipped.id}:2",
                    f"session:{second.id}:{flipped.id}:0"}
    assert runner.invoke(args=["hours", "check"]).exit_code == 0
    assert {entry.earned_on for entry in db.session.scalars(select(HoursEntry))} == {  # dated by their sessions
        local_date(first.starts_at), local_date(second.starts_at)}


def test_hours_check_sees_a_year_rollup_under_the_wrong_union(app, runner, tree, make_user):
    from courses.hours.models import HoursYear

    worker = make_user(union=tree.a1)
    credit(worker, 90)
    assert runner.invoke(args=["hours", "check"]).exit_code == 0
    db.session.execute(update(HoursYear).values(union_id=tree.b1.id))  # the person total is still right
    db.session.commit()
    broken = runner.invoke(args=["hours", "check"])
    assert broken.exit_code == 1
    assert f"union {tree.a1.id}: ledger 90, rollup 0" in broken.output
    assert f"union {tree.b1.id}: ledger 0, rollup 90" in broken.output


@pytest.mark.parametrize("period", ["year", "quarter"])
def test_report_charts_and_exports_exist(app, tree, make_user, make_admin, period):
    credit(make_user(union=tree.a1), 45)
    client = login_client(app, make_admin(tree.city))
    page = client.get(f"/reports/hours?union={tree.city.id}&period={period}&part=4").get_data(as_text=True)
    assert 'id="hours-chart"' in page and "chartjs/chart.umd.min.js" in page and 'data-export="xlsx"' in page


def test_seed_scale_adds_hours_that_match_the_rollups(runner):
    result = runner.invoke(args=["seed-scale", "--workers", "300", "--hours-per-worker", "4"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(HoursEntry)) == 4 * db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.status == "active"))
    check = runner.invoke(args=["hours", "check"])
    assert check.exit_code == 0, check.output


def test_the_report_form_shows_no_errors_when_opened_by_a_link(app, tree, make_admin):
    client = login_client(app, make_admin(tree.city))
    page = client.get(f"/reports/hours?union={tree.a1.id}").get_data(as_text=True)
    assert not elements(page, aria_invalid="true") and "Not a valid choice" not in page

# ruff: noqa: F811 - the shared fixtures are imported from tests.test_attendance and tests.test_competitions
"""Codes and numbers as people type them (issue 14): full-width digits (a Chinese phone keyboard in
full-width mode) count as the digits they are, and so do superscript and circled digits, which NFKC
also maps to ASCII (decided: one rule, "NFKC, then ASCII digits"); Arabic-Indic or Devanagari
digits, mixed scripts and letters are a form error. Never a 500."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from classroom.accounts.models import PasswordReset
from classroom.database import utcnow
from classroom.extensions import db
from classroom.forms import typed_decimal, typed_digits, typed_int
from classroom.timefmt import local_date
from courses.attendance import checkin as checkins
from courses.attendance.models import Attendance
from courses.competitions.models import Score
from courses.reminders import calendar
from courses.study.exam_forms import option_numbers
from tests.factories import login_client
from tests.test_attendance import course_with_session, enrolled  # noqa: F401
from tests.test_competitions import (  # noqa: F401
    _sheet,
    confirmed_field,
    electrician,
    entry_of,
    make_competition,
    make_event,
)
from tests.test_recovery import NEW_PASSWORD, RecordingSMS, can_log_in, enter_code, forgot, last_code

ASCII_DIGITS = "0123456789"
ARABIC = str.maketrans(ASCII_DIGITS, "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans(ASCII_DIGITS, "०१२३४५६७८९")
SUPERSCRIPT = str.maketrans(ASCII_DIGITS, "⁰¹²³⁴⁵⁶⁷⁸⁹")


def full_width(text: str) -> str:
    """What a full-width keyboard gives for ASCII text: "12-ab" → "１２－ａｂ"."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" if ch == " " else ch for ch in text)


def refused_forms(digits: str) -> list[str]:
    """The same digits in other scripts, in a mix of scripts, and with a letter."""
    half = len(digits) // 2
    return [digits.translate(ARABIC), digits.translate(DEVANAGARI),
            digits[:half] + digits[half:].translate(ARABIC), digits[:-1] + "a"]


@pytest.fixture
def app_config():
    RecordingSMS.sent.clear()
    return {"SMS_BACKEND": "tests.test_recovery.RecordingSMS"}


# ---- the rule --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "digits"), [
    ("１２３４５６", "123456"), ("123 456", "123456"), ("１２３\u3000４５６", "123456"), ("123-456", "123456"),
    ("¹²³⁴⁵⁶", "123456"), ("①②③④⑤⑥", "123456"), (" 654321 ", "654321"),
    ("١٢٣٤٥٦", None), ("१२३४५६", None), ("123٤٥٦", None), ("12a456", None), ("一二三四五六", None),
    ("12345", None), ("", None), (None, None),
])
def test_typed_digits(text, digits):
    assert typed_digits(text, length=6) == digits


def test_typed_numbers():
    assert typed_int("－１２") == -12 and typed_int("¹²") == 12 and typed_int("+7") == 7
    assert [typed_int(text) for text in ("١٢", "१२", "1٢", "1_0", "12.0", "9" * 400, str(2**31))] == [None] * 7
    assert typed_decimal("８５．５") == Decimal("85.5") and typed_decimal(".5") == Decimal("0.5")
    assert [typed_decimal(text) for text in ("٨٥", "८५", "8٥", "85a", "1e1", "NaN", "Infinity", "1_0", ".")] == \
        [None] * 9
    assert option_numbers("１，３") == [1, 3] and option_numbers("１、３") == [1, 3]
    for text in ("١,٣", "१", "1,٣", "a"):
        with pytest.raises(ValueError):
            option_numbers(text)


# ---- self check-in: the case of issue 14 ----------------------------------------------------------

def test_a_worker_with_a_class_open_types_the_code_as_the_phone_gives_it(app, course_with_session, enrolled,
                                                                          instructor):
    _course, session = course_with_session
    checkin = checkins.open_checkin(session, actor=instructor, now=utcnow())
    db.session.commit()
    worker = login_client(app, enrolled("甲"))
    shown = {checkins.code_at(checkin, utcnow())}
    for code in ("１２３４５６", "١٢٣٤٥٦"):  # both answered 500
        response = worker.post("/checkin", data={"code": code})
        assert response.status_code == 200 or "123456" in shown
    for code in refused_forms(checkins.code_at(checkin, utcnow())):
        page = worker.post("/checkin", data={"code": code}).get_data(as_text=True)
        assert "6-digit code shown in class, with the digits 0-9" in page, code
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    for name, as_typed in (("甲", full_width), ("乙", lambda code: code.translate(SUPERSCRIPT)),
                           ("丙", lambda code: full_width(f"{code[:3]} {code[3:]}"))):
        person = worker if name == "甲" else login_client(app, enrolled(name))
        response = person.post("/checkin", data={"code": as_typed(checkins.code_at(checkin, utcnow()))})
        assert response.status_code == 302, name
    assert db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.status == "present")) == 3


# ---- badges scanned or typed by an instructor --------------------------------------------------------

def test_an_instructor_types_a_badge_in_full_width(app, course_with_session, enrolled, instructor):
    _course, session = course_with_session
    person = enrolled()
    today = local_date(utcnow())
    code = checkins.badge_code(person.id, today)
    teacher = login_client(app, instructor)
    url = f"/teach/sessions/{session.id}/roster/badge"
    other_letter = "Z" if code[-1] != "Z" else "Y"
    wrong = [f"{number}-{code}" for number in refused_forms(str(person.id).zfill(2))[:3]]
    wrong += [f"{person.id}-{code[:-2]}٣٤", f"CLSB:{str(person.id).translate(ARABIC)}:{code}",
              f"{person.id}-{code[:-1]}é", full_width(f"{person.id}-{code[:-1]}{other_letter}")]
    for text in wrong:
        response = teacher.post(url, data={"badge": text}, headers={"Accept": "application/json"})
        assert response.status_code == 400 and response.get_json()["ok"] is False, text
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    typed = full_width(f"{person.id} - {code.lower()}")
    assert teacher.post(url, data={"badge": typed}, headers={"Accept": "application/json"}).get_json()["ok"]
    assert db.session.scalar(select(Attendance.method).where(Attendance.user_id == person.id)) == "badge"
    other = enrolled("乙")
    scanned = full_width(checkins.badge_text(other.id, today))
    assert teacher.post(url, data={"badge": scanned}).status_code == 302
    assert db.session.scalar(select(Attendance.method).where(Attendance.user_id == other.id)) == "badge"


# ---- password reset codes ---------------------------------------------------------------------------

def test_a_reset_code_typed_in_full_width_works(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    forgot(client, full_width(user.mobile))  # the mobile in full width reaches the account, too
    code = last_code()
    for wrong in refused_forms(code):
        page = enter_code(client, user.mobile, wrong).get_data(as_text=True)
        assert "The code is 6 digits from 0 to 9." in page, wrong
    assert db.session.scalar(select(PasswordReset.attempts)) == 0  # a malformed code spends no try
    spaced = full_width(f"{code[:3]} {code[3:]}")
    assert enter_code(client, full_width(user.mobile), spaced).status_code == 302
    assert can_log_in(app, user.mobile, NEW_PASSWORD)


def test_a_superscript_reset_code_works(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    forgot(client, user.mobile)
    assert enter_code(client, user.mobile, last_code().translate(SUPERSCRIPT)).status_code == 302


def test_full_width_requests_share_the_accounts_allowance(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    answers = [forgot(client, mobile, ip=f"10.0.1.{index}").status_code
               for index, mobile in enumerate([user.mobile, full_width(user.mobile)] * 3)]
    assert answers == [302] * 5 + [429]  # RESET_LIMIT_PER_IDENTIFIER: 5 per hour, whatever the width


# ---- competition scores ------------------------------------------------------------------------------

def test_scores_typed_in_full_width_save_and_other_digits_are_refused(app, confirmed_field):
    _competition, event, (theory, practice), organizer, people = confirmed_field
    entry = entry_of(people[0], event).id
    client = login_client(app, organizer)
    url = f"/competitions/events/{event.id}/scores"
    for text in [*refused_forms("85"), "八十五", "1e1", "NaN", "85。5"]:
        page = client.post(url, data={f"score-{entry}-{theory.id}": text}, follow_redirects=True)
        assert page.status_code == 200 and "nothing was saved" in page.get_data(as_text=True), text
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0
    client.post(url, data={f"score-{entry}-{theory.id}": "８５．５", f"score-{entry}-{practice.id}": "⁹⁰"})
    saved = dict(db.session.execute(select(Score.stage_id, Score.points)).all())
    assert saved == {theory.id: Decimal("85.50"), practice.id: Decimal("90")}


def test_a_score_sheet_typed_in_full_width_imports(app, confirmed_field):
    _competition, event, (theory, _practice), organizer, people = confirmed_field
    client = login_client(app, organizer)
    url = f"/competitions/events/{event.id}/scores/import"
    for text in refused_forms("92"):
        sheet = _sheet([["手机号", "理论"], [people[0].mobile, text]])
        response = client.post(url, data={"file": (io.BytesIO(sheet), "s.xlsx")}, content_type="multipart/form-data")
        assert response.status_code == 422 and "type it with the digits 0-9" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0
    sheet = _sheet([["手机号", "理论"], [people[0].mobile, "９２．５"]])
    client.post(url, data={"file": (io.BytesIO(sheet), "s.xlsx")}, content_type="multipart/form-data")
    assert db.session.scalar(select(Score.points)) == Decimal("92.50")


# ---- whole numbers, exam answers, secrets in links ---------------------------------------------------

def test_whole_numbers_typed_in_full_width(app, tree, make_user):
    person = make_user(union=tree.a1)
    client = login_client(app, person)
    form = {"locale": "en", "timezone": "Asia/Shanghai"}
    for text in [*refused_forms("12"), "十二", "1_2"]:
        page = client.post("/me/settings", data={**form, "years_in_trade": text})
        assert page.status_code == 200 and "Enter a whole number with the digits 0-9." in page.get_data(as_text=True)
    db.session.refresh(person)
    assert person.years_in_trade is None
    for text, years in (("１２", 12), ("¹³", 13)):
        assert client.post("/me/settings", data={**form, "years_in_trade": text}).status_code == 302
        db.session.refresh(person)
        assert person.years_in_trade == years


def test_correct_options_typed_in_full_width(app, make_course, instructor):
    course = make_course()
    client = login_client(app, instructor)
    assert client.post(f"/teach/courses/{course.id}/exam", data={"title": "期末考试", "pass_score": "６０"}
                       ).status_code == 302
    new = f"/teach/courses/{course.id}/exam/questions/new"
    question = {"text": "哪些是对的？", "kind": "multiple", "points": "２", "options": "甲\n乙\n丙"}
    for text in ("١,٣", "१", "1,٣", "a"):
        page = client.post(new, data={**question, "correct": text}).get_data(as_text=True)
        assert "separated by commas" in page, text
    assert client.post(new, data={**question, "correct": "１，３"}).status_code == 302


def test_a_calendar_secret_in_another_script_is_not_found(app, tree, make_user):
    person = make_user(union=tree.a1)
    login_client(app, person).get("/me/calendar")
    feed = calendar.feed_of(person.id)
    secret = calendar.secret_for(person.id, feed.version)
    client = app.test_client()
    assert client.get(f"/me/calendar/{secret}.ics").status_code == 200
    for forged in (f"{person.id}-{'١' * 32}", f"{person.id}-{secret[-32:-1]}é", full_width(secret)):
        assert client.get(f"/me/calendar/{forged}.ics").status_code == 404, forged


def test_mobiles_and_id_cards_typed_in_full_width(app, client, tree, make_user):
    """A mobile number registered and logged in with in full width is stored and found as ASCII digits; in
    another script it is a form error. A full-width ID card number is stored as its ASCII form."""
    from classroom.accounts.models import User
    from classroom.unions.models import Membership

    form = {"real_name": "全角", "password": "Xuexi!2026ok", "confirm": "Xuexi!2026ok", "consent": "y",
            "union_id": tree.a1.id}
    refused = client.post("/auth/register", data={**form, "mobile": "13912345678".translate(ARABIC)})
    assert refused.status_code == 200 and "11-digit" in refused.get_data(as_text=True)
    assert client.post("/auth/register", data={**form, "mobile": full_width("139 1234 5678")}).status_code == 302
    assert db.session.scalar(select(User.mobile).where(User.real_name == "全角")) == "13912345678"
    client.post("/auth/logout")
    login = client.post("/auth/login", data={"identifier": full_width("13912345678"), "password": "Xuexi!2026ok"})
    assert login.status_code == 302
    person = make_user("身份证", mobile="13912345679")
    member = login_client(app, person)
    applied = member.post("/me/membership/apply", data={"union_id": tree.a2.id, "id_card": full_width("11010519491231002x"),
                                                  "id_card_consent": "y"})
    assert applied.status_code in (200, 302)
    masked = db.session.scalar(select(Membership.id_card_masked).where(Membership.user_id == person.id))
    assert masked is not None and masked.isascii() and masked.endswith("2X"), masked

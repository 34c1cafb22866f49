# ruff: noqa: F811 - the certificate fixtures are imported from tests.test_certificates
"""The study flow's pages on a phone (issue 16): /me/hours in one unit with its target named, the hours report's
table scrolling sideways, time zones in words, plain words for the electronic certificate, registration keeping
what was typed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from classroom.database import utcnow
from classroom.extensions import db
from courses.hours import services as hours
from tests.factories import login_client
from tests.helpers import data_texts
from tests.markup import elements, input_value
from tests.test_certificates import certified, course_for_certificates  # noqa: F401  (fixtures)

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def credit(person, minutes: int, on) -> None:
    hours.record_entry(user_id=person.id, minutes=minutes, source="external", category="电工",
                       source_key=f"test:{person.id}:{minutes}:{on}", earned_on=on, now=utcnow(), title="测试")
    db.session.commit()


def test_my_hours_speak_one_unit_with_the_target_named(app, tree, make_user):
    tree.a1.annual_target_minutes = 16 * 45
    worker = make_user(union=tree.a1)
    credit(worker, 90, TODAY)
    credit(worker, 45, TODAY - timedelta(days=1) if TODAY.month > 1 or TODAY.day > 1 else TODAY)
    credit(worker, 450, TODAY.replace(year=TODAY.year - 1))
    client = login_client(app, worker)
    page = client.get("/me/hours").get_data(as_text=True)
    assert data_texts(page, "data-year-label") == [f"This year ({TODAY.year})", str(TODAY.year - 1)]
    assert [" ".join(text.split()) for text in data_texts(page, "data-year-hours")] == [
        "3 / 16 training hours", "10 training hours"]  # the target only where it applies: this year
    assert data_texts(page, "data-target") == ["Annual target: 16 training hours"]
    assert "min" not in " ".join(data_texts(page, "data-entry-minutes"))  # the rows speak 学时 too
    assert sorted(data_texts(page, "data-entry-minutes")) == ["+1", "+2"]
    zh = login_client(app, worker)
    zh.get("/?lang=zh_CN")
    assert [" ".join(text.split()) for text in data_texts(zh.get("/me/hours").get_data(as_text=True),
                                                          "data-year-hours")][0] == "3 / 16 学时"


def test_the_report_page_wraps_its_table_to_scroll(app, tree, make_admin, make_user):
    make_user("欧阳建国同志", union=tree.a1)
    client = login_client(app, make_admin(tree.a1))
    page = client.get(f"/reports/hours?union={tree.a1.id}").get_data(as_text=True)
    [table] = elements(page, "table", data_report="members")
    assert "table-report" in table.get("class", "").split()
    assert '<div class="table-responsive"><table class="table table-sm align-middle table-report"' in page


def test_settings_list_time_zones_in_words(app, tree, make_user):
    client = login_client(app, make_user(union=tree.a1))
    client.get("/?lang=zh_CN")
    page = client.get("/me/settings").get_data(as_text=True)
    labels = {option.get("value"): option for option in elements(page, "option") if option.select == "timezone"}
    assert "Asia/Shanghai" in labels
    texts = data_texts_of_options(page)
    assert texts["Asia/Shanghai"] == "中国（上海）时间"
    assert not any("/" in text for text in texts.values())  # never a raw code


def data_texts_of_options(page: str) -> dict[str, str]:
    """{value: text} of the timezone select's options."""
    import re

    select = page[page.index('name="timezone"'):]
    select = select[:select.index("</select>")]
    return {value: text.strip() for value, text in re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]*)</option>',
                                                               select)}


def test_the_badge_download_says_electronic_certificate(app, certified):
    worker, _course, _certificate = certified
    for lang, words in (("en", "Electronic certificate (verifiable on other platforms)"),
                        ("zh_CN", "电子证书（可在其他平台")):
        client = login_client(app, worker)
        client.get(f"/?lang={lang}")
        page = client.get("/me/certificates").get_data(as_text=True)
        [link] = data_texts(page, "data-download-badge")
        assert link.startswith(words) and "Open Badges" not in link and "徽章" not in link


def test_the_search_without_javascript_keeps_what_was_typed(client, tree):
    typed = {"real_name": "王小工", "mobile": "13912345678", "password": "Steel-Worker-2026",
             "confirm": "Steel-Worker-2026", "union_query": "银泰", "consent": "y"}
    response = client.post("/auth/register", data={**typed, "search": "1"})
    page = response.get_data(as_text=True)
    for name in ("real_name", "mobile", "password", "confirm", "union_query"):
        assert input_value(page, name) == typed[name], name
    assert [option.get("value") for option in elements(page, "option") if option.select == "union_id"] == [
        str(tree.b1.id)]
    assert "no-store" in response.headers.get("Cache-Control", "")  # the passwords shown are not kept anywhere
    refused = client.post("/auth/register", data={**typed, "confirm": "Other-Password-1", "union_id": tree.b1.id})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and input_value(page, "real_name") == "王小工"
    assert input_value(page, "password") == "" and input_value(page, "confirm") == ""  # never after a refusal

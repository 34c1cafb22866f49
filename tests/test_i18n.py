"""Languages: the user's setting, then ?lang= (remembered), then Accept-Language, then zh_CN;
times in the user's timezone; catalogues complete."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale

from classroom.extensions import db
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def lang_of(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


NO_LANGUAGE = {"HTTP_ACCEPT_LANGUAGE": ""}


def test_chinese_is_the_default(client):
    response = client.get("/", environ_overrides=NO_LANGUAGE)
    assert lang_of(response) == "zh-CN"
    assert "职工学堂" in response.get_data(as_text=True)


def test_accept_language_english(client):
    response = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert lang_of(response) == "en" and "Worker Classroom" in response.get_data(as_text=True)


def test_lang_switch_is_remembered_in_the_session(client):
    client.environ_base.update(NO_LANGUAGE)
    assert lang_of(client.get("/")) == "zh-CN"
    assert lang_of(client.get("/?lang=en")) == "en"
    assert lang_of(client.get("/auth/login")) == "en"
    assert lang_of(client.get("/auth/login", headers={"Accept-Language": "zh-CN"})) == "en"
    assert lang_of(client.get("/?lang=zh_CN")) == "zh-CN"
    assert lang_of(client.get("/?lang=xx")) == "zh-CN"


def test_user_setting_wins_and_the_switch_updates_it(client, make_user, tree):
    user = make_user(union=tree.a1, locale="en")
    client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
    assert lang_of(client.get("/me", headers={"Accept-Language": "zh-CN"})) == "en"
    client.get("/me?lang=zh_CN")
    db.session.refresh(user)
    assert user.locale == "zh_CN"
    assert lang_of(client.get("/me")) == "zh-CN"


def test_times_are_shown_in_the_users_timezone(app, client, make_user, tree):
    user = make_user(union=tree.a1, locale="en", timezone="Asia/Shanghai")
    client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
    moment = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 next day in Shanghai
    with app.test_request_context("/"):
        from flask_login import login_user

        user.login_token = "x"
        login_user(user)
        text = render_template_string("{{ moment|datetime('short') }}", moment=moment)
    assert "3/2/26" in text and "12:30" in text


def test_numbers_and_dates_follow_the_locale(app):
    with app.test_request_context("/"), force_locale("zh_CN"):
        assert render_template_string("{{ 1234567|number }}") == "1,234,567"
        assert "2026年3月2日" in render_template_string("{{ d|date('long') }}", d=datetime(2026, 3, 2, tzinfo=UTC))


def test_times_of_day_follow_the_locale_clock(app):
    """A class's end time reads like its start: "7:00 PM" in English, "19:00" in Chinese."""
    ends = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
    with app.test_request_context("/"):
        with force_locale("en"):
            assert render_template_string("{{ t|time }}", t=ends).replace("\u202f", " ") == "8:30 PM"
        with force_locale("zh_CN"):
            assert render_template_string("{{ t|time }}", t=ends) == "20:30"
            assert render_template_string("{{ 'Asia/Shanghai'|zone_name }}") == "中国（上海）时间"  # not the tz id
        with force_locale("en"):
            assert render_template_string("{{ 'Asia/Shanghai'|zone_name }}") == "China (Shanghai) Time"


def test_the_language_switch_keeps_the_page_query(client):
    """Switching language on a search result keeps the search, its filters and the page number."""
    html = client.get("/courses/?q=%E5%AE%89%E5%85%A8&mode=online&page=2&lang=zh_CN").get_data(as_text=True)
    switch = html.split('hreflang="en"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert switch == "/courses/?q=%E5%AE%89%E5%85%A8&amp;mode=online&amp;page=2&amp;lang=en"
    assert lang_of(client.get(switch.replace("&amp;", "&"))) == "en"
    html = client.get("/verify/AB%23CD?lang=zh_CN").get_data(as_text=True)  # a # in the path stays in the path
    assert 'href="/verify/AB%23CD?lang=en"' in html


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalogue_is_complete(locale):
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    missing = [m.id for m in catalogue if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not missing, f"{len(missing)} untranslated in {locale}, e.g. {missing[:3]}"
    assert not fuzzy, f"fuzzy entries in {locale}: {fuzzy[:3]}"


def test_catalogue_covers_the_source():
    """Every marked string of the code is in the catalogue (run `make babel` after adding strings)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        pybabel = str(Path(sys.executable).parent / "pybabel")
        subprocess.run([pybabel, "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                        "--ignore-dirs", ".* __pycache__ node_modules", "-o", str(pot), "."], cwd=ROOT, check=True)
        with pot.open("rb") as handle:
            messages = [m for m in read_po(handle) if m.id]
    source = {m.id if isinstance(m.id, str) else m.id[0] for m in messages}
    # Every template that marks a string was read (pybabel skips folders named "_…" unless told).
    scanned = {Path(filename).as_posix() for m in messages for filename, _line in m.locations}
    marked = {path.relative_to(ROOT).as_posix() for path in (ROOT / "templates").rglob("*.html")
              if "_(" in path.read_text(encoding="utf-8")}
    assert not marked - scanned, f"templates not extracted: {sorted(marked - scanned)[:5]}"
    with (ROOT / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert not source - known, f"not in the catalogue: {sorted(source - known)[:5]}"

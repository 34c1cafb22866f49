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
        subprocess.run([pybabel, "-q", "extract", "-F", "babel.cfg",
                        "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--no-location", "."],
                       cwd=ROOT, check=True)
        with pot.open("rb") as handle:
            source = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with (ROOT / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert not source - known, f"not in the catalogue: {sorted(source - known)[:5]}"

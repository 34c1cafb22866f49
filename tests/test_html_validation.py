"""The HTML gate itself: the Nu HTML Checker reports a form inside a span and a duplicate id, a run
that renders such a page fails with the page, line and message, and the recorder keeps one copy
of pages that differ only in their CSRF tokens."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask, redirect
from flask.signals import request_finished

from tests.conftest import IN_CI
from tests.factories import PASSWORD, csrf_token
from tests.html_validation import PageRecorder, check_markup, checker_command, format_errors, recorded_pages

ROOT = Path(__file__).resolve().parents[1]
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page</title></head>
<body>{}</body></html>"""
FORM = '<form method="post"><input type="hidden" name="csrf_token" id="csrf_token" value="{}"></form>'
INVALID = PAGE.format(f"<span>{FORM.format(1)}</span>\n{FORM.format(2)}")


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}  # as in production: every form renders its token


def vnu_or_skip() -> list[str]:
    """The checker's command; without Java a skip, except under CI=true where that is a failure."""
    command = checker_command()
    if isinstance(command, str):
        if IN_CI:
            pytest.fail(f"CI=true but {command}")
        pytest.skip(command)
    return command


def test_the_checker_reports_a_form_in_a_span_and_a_duplicate_id():
    errors = check_markup({"invalid": INVALID, "valid": PAGE.format(FORM.format(1))}, vnu_or_skip())
    assert {error["name"] for error in errors} == {"invalid"}
    messages = [error["message"] for error in errors]
    assert any("'form' not allowed as child of element 'span'" in message for message in messages), messages
    assert any("Duplicate ID 'csrf_token'" in message for message in messages), messages
    report = format_errors(errors, {"invalid": {"url": "GET /bad", "status": 200, "test": "test_x"}})
    assert report.startswith("GET /bad (status 200, rendered by test_x)")
    assert "  line 3, column " in report


def test_a_run_that_renders_an_invalid_page_fails_and_names_it(tmp_path):
    vnu_or_skip()
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.html_validation"]\n')
    (tmp_path / "test_page.py").write_text(
        "from flask import Flask\n\n"
        "def test_renders_an_invalid_page():\n"
        "    app = Flask(__name__)\n"
        f"    app.add_url_rule('/bad', 'bad', lambda: {INVALID!r})\n"
        "    assert app.test_client().get('/bad').status_code == 200\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-ra",
                          str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "GET /bad (status 200, rendered by test_page.py::test_renders_an_invalid_page)" in run.stdout
    assert "line 2, column" in run.stdout and "Duplicate ID 'csrf_token'" in run.stdout


def test_the_recorder_keeps_each_distinct_page_once(tmp_path):
    app = Flask(__name__)
    token = "ImEwN2M3MDNmZWQ2YmZhNzQzOTVmMzEzMjM3YjA2Yjk0ZWE3YWViNTki.axaAVA.T_4QfSfYJKtPE7v0RSGqlOWq{:04d}"
    app.add_url_rule("/page/<int:number>", "page", lambda number: PAGE.format(FORM.format(token.format(number))))
    app.add_url_rule("/missing", "missing", lambda: (PAGE.format("<p>Not here</p>"), 404))
    app.add_url_rule("/away", "away", lambda: redirect("/page/1"))
    app.add_url_rule("/text", "text", lambda: ("plain", {"Content-Type": "text/plain"}))
    recorder = PageRecorder(tmp_path)
    recorder.test = "test_x"
    request_finished.connect(recorder, app, weak=False)
    try:
        for url in ("/page/1", "/page/22", "/missing", "/away", "/text"):
            app.test_client().get(url)
    finally:
        request_finished.disconnect(recorder, app)
    pages = recorded_pages(tmp_path)
    assert sorted((page["url"], page["status"], page["test"]) for page in pages.values()) == [
        ("GET /missing", 404, "test_x"), ("GET /page/1", 200, "test_x")]
    assert sorted(path.stem for path in tmp_path.glob("*.html")) == sorted(pages)


def logged_in(app, user):
    """A client logged in as ``user`` through the log-in form, CSRF token and all."""
    client = app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_pages_with_several_forms_repeat_no_id(app, tree, make_user, make_admin, make_course, instructor):
    # The gate checks these pages too (rendered with CSRF on, as the other tests mostly do not).
    worker, session = make_user(union=tree.a1), make_course(sessions=1).sessions[0]
    pages = [logged_in(app, make_admin(tree.a1)).get(f"/hours/members/{worker.id}"),
             logged_in(app, instructor).get(f"/teach/sessions/{session.id}/roster")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and html.count('name="csrf_token"') >= 3
        ids = re.findall(r'\sid="([^"]*)"', html)
        assert len(ids) == len(set(ids)), sorted(ids)
    assert '<label class="form-label" for="adjustment-minutes">' in pages[0].get_data(as_text=True)

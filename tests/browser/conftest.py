"""Browser tests: Playwright driving Debian's chromium (never `playwright install`) against the
app served on 127.0.0.1 from a thread, at phone width (390×844); every page a journey shows passes the
accessibility gate afterwards (tests/browser/accessibility.py)."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.accessibility import Auditor
from tests.conftest import IN_CI

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
AUDITED = pytest.StashKey[list]()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A journey that failed is not audited as well (its pages are not the ones it meant to show)."""
    outcome = yield
    if call.when == "call" and outcome.get_result().failed:
        item.failed_already = True


def pytest_terminal_summary(terminalreporter, config):
    audited = config.stash.get(AUDITED, None)
    if audited:
        terminalreporter.write_line(f"Accessibility gate (axe-core): {audited[0]} page views audited in "
                                    f"{audited[2]:.0f} s, {audited[1]} page(s) over the per-test cap not audited")


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True, "REGISTER_LIMIT_PER_IP": "1000 per hour"}


@pytest.fixture
def live_server(app):
    """The app on a free port of 127.0.0.1, served by threads; yields its base URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if IN_CI:
            pytest.fail("CI=true but chromium is not installed (apt-get install -y chromium)")
        pytest.skip("browser tests need Debian's chromium on PATH (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield instance
    instance.close()
    playwright.stop()


@pytest.fixture
def new_page(browser, request):
    """new_page("zh-CN") → a page in a fresh phone-sized context with that Accept-Language. When the test
    is over, the pages its journey loaded pass the accessibility gate (on SQLite: the same pages again on
    PostgreSQL would only double the time)."""
    contexts = []
    auditor = Auditor() if "postgresql" not in request.node.name else None

    def make(locale: str = "zh-CN"):
        # No service worker (its precache and page copies would add requests to every journey's server):
        # tests/browser/test_phone_journey.py allows it where it is tested.
        context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, reduced_motion="reduce", service_workers="block")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if auditor is not None:
            auditor.watch(page)
        return page

    yield make
    try:
        if auditor is not None and not getattr(request.node, "failed_already", False):
            auditor.finish()
    finally:
        for context in contexts:
            context.close()
    if auditor is not None:
        totals = request.config.stash.setdefault(AUDITED, [0, 0, 0.0])
        totals[0], totals[1], totals[2] = (totals[0] + auditor.audits, totals[1] + auditor.skipped,
                                           totals[2] + auditor.seconds)
    if auditor is not None and auditor.problems:
        pytest.fail(auditor.report(), pytrace=False)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

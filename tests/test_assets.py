"""Light and cacheable pages (issue 16): static files under content-hashed names cached for a year, answers
compressed (brotli, else gzip), only the Bootstrap rules the templates use, and the installable web app
(manifest, service worker, the pages kept offline). The browser side: tests/browser/test_phone_journey.py."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import brotli
import pytest

from classroom.assets import IMMUTABLE
from tests.factories import login_client

ROOT = Path(__file__).resolve().parents[1]
HASHED = re.compile(r"/static/[0-9a-f]{10}/")
PURGED = ROOT / "static/vendor/bootstrap/bootstrap.purged.min.css"
# What PurgeCSS reads (scripts/purgecss.config.cjs), and how its default extractor splits it into words.
PURGE_CONTENT = ("templates/**/*.html", "static/js/**/*.js", "classroom/**/*.py", "courses/**/*.py")
WORDS = re.compile(r"[A-Za-z0-9_-]+")


def css_classes(css: str) -> set[str]:
    """The class names the rules of a style sheet select on."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    previous = None
    while previous != css:
        previous, css = css, re.sub(r"\{[^{}]*\}", ",", css)
    return set(re.findall(r"\.(-?[A-Za-z_][A-Za-z0-9_-]*)", css))


def test_templates_link_static_files_only_under_their_digest():
    unhashed = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"""url_for\(\s*['"]static['"]|['"(]/static/""", text):
            unhashed.append(path.relative_to(ROOT).as_posix())
    assert not unhashed, f"link static files with asset_url(): {unhashed}"


def test_every_page_links_hashed_files_that_are_cached_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(links) >= 5 and all(HASHED.match(link) for link in links), links
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.headers["Cache-Control"] == IMMUTABLE
    assert "bootstrap.purged.min.css" in html and "bootstrap.min.css" not in html


def test_an_outdated_digest_is_sent_to_the_current_file_and_a_missing_file_is_404(client):
    current = re.search(r'href="(/static/[0-9a-f]{10}/css/app\.css)"', client.get("/").get_data(as_text=True))[1]
    response = client.get("/static/0123456789/css/app.css")
    assert response.status_code == 302 and response.headers["Location"].endswith(current)
    assert "no-cache" in response.headers["Cache-Control"]
    assert client.get("/static/0123456789/css/no-such.css").status_code == 404
    assert client.get("/static/0123456789/../config.py").status_code == 404


def test_pages_and_static_files_are_compressed(client):
    css = re.search(r'href="(/static/[0-9a-f]{10}/vendor/bootstrap/[^"]+)"', client.get("/").get_data(as_text=True))[1]
    plain = client.get(css).data
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        for url in ("/", "/courses/", css):
            response = client.get(url, headers={"Accept-Encoding": f"{encoding}"})
            assert response.headers["Content-Encoding"] == encoding, url
            assert "Accept-Encoding" in response.headers["Vary"]
            body = decode(response.data)
            assert len(response.data) < len(body) / 2, url
        assert decode(client.get(css, headers={"Accept-Encoding": encoding}).data) == plain
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "identity"}).headers


def test_the_purged_bootstrap_keeps_every_class_the_code_may_use():
    """A template that starts using a Bootstrap class the purged file dropped fails here: run
    scripts/purge_bootstrap.sh (README, "Light pages") and commit the file it writes."""
    bootstrap = {line for line in (ROOT / "tests/data/bootstrap-5.3.9-classes.txt").read_text().split("\n")
                 if line and not line.startswith("#")}
    words: set[str] = set()
    for pattern in PURGE_CONTENT:
        for path in ROOT.glob(pattern):
            words |= set(WORDS.findall(path.read_text(encoding="utf-8")))
    kept = css_classes(PURGED.read_text(encoding="utf-8"))
    missing = sorted((words & bootstrap) - kept)
    assert not missing, f"run scripts/purge_bootstrap.sh: the purged Bootstrap lacks {missing}"
    # what only Bootstrap's JavaScript sets: the menu's collapse, dropdowns, dismissible alerts (no template has a modal)
    assert {"collapse", "collapsing", "show", "fade", "dropdown-menu"} <= kept
    assert len(PURGED.read_bytes()) < 100_000


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["name"]
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    for size in ("192x192", "512x512"):
        assert HASHED.match(sizes[size])
        icon = client.get(sizes[size])
        assert icon.mimetype == "image/png" and icon.data[16:24] == bytes.fromhex(f"{int(size[:3]):08x}") * 2
    assert client.get("/manifest.webmanifest", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get("/favicon.ico").status_code == 301


def test_the_service_worker_keeps_the_static_files_and_a_workers_own_pages(app, client, tree, make_user):
    html = login_client(app, make_user(union=tree.a1)).get("/").get_data(as_text=True)
    assert 'data-service-worker="/sw.js"' in html and 'rel="manifest"' in html
    response = client.get("/sw.js")
    assert response.mimetype == "text/javascript" and "no-cache" in response.headers["Cache-Control"]
    settings = json.loads(re.match(r"const SETTINGS = (.*);\n", response.get_data(as_text=True))[1])
    assert settings["pages"] == ["/me/badge", "/me/badge.svg", "/me/certificates", "/me/hours"]
    assert set(re.findall(r'(?:src|href)="(/static/[^"]+\.(?:css|js))"', html)) <= set(settings["precache"])
    assert len(settings["notSent"]) == 2 and "/auth/logout" in settings["forget"]


@pytest.mark.parametrize("url", ["/me/badge", "/me/certificates", "/me/hours"])
def test_pages_kept_offline_carry_the_time_they_were_drawn(app, tree, make_user, url):
    html = login_client(app, make_user(union=tree.a1)).get(url).get_data(as_text=True)
    notice = re.search(r"<div[^>]*data-offline-notice[^>]*>", html)[0]
    assert re.search(r'data-rendered-at="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)"', notice), notice
    assert re.search(r'data-last-updated="[^"]*\d{1,2}:\d\d[^"]*"', notice) and "data-not-sent" in notice

# ruff: noqa: F811 - the shared fixtures are imported from tests.test_certificates
"""WeChat's in-app browser (issue 16): told by its user agent, it gets the "open in browser" gesture on pages
with downloads, and every PDF has a page showing it, with the PDF's QR code. The browser side (the QR read
from the screen): tests/browser/test_phone_journey.py."""

from __future__ import annotations

import re

from classroom.extensions import db
from tests.factories import login_client
from tests.markup import elements
from tests.pdfs import qr_codes
from tests.test_certificates import certified, course_for_certificates  # noqa: F401 - fixtures
from tests.test_hours import TODAY, credit

WECHAT = ("Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 "
          "MicroMessenger/8.0.47.2560(0x28002F37) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64")
CHROME = ("Mozilla/5.0 (Linux; Android 13; V2183A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
          "Mobile Safari/537.36")


def text_of(html: str, tag: str, attribute: str) -> str:
    """The text inside the one ``tag`` element carrying ``attribute``."""
    [inner] = re.findall(rf"<{tag}\b[^>]*\b{attribute}\b[^>]*>(.*?)</{tag}>", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", inner).split())


def svg_qr_link(html: str) -> str:
    [link] = elements(html, "a", data_qr="")
    assert re.search(r'<a href="[^"]+" [^>]*data-qr><svg role="img" viewBox="0 0 \d+ \d+"', html)
    return link.attrs["href"]


def test_in_wechat_the_certificates_page_shows_the_gesture_and_the_inline_view(app, certified):
    worker, _course, certificate = certified
    client = login_client(app, worker)
    wechat = client.get("/me/certificates", headers={"User-Agent": WECHAT}).get_data(as_text=True)
    hint = text_of(wechat, "div", "data-wechat-hint")
    assert "···" in hint and "在浏览器打开" in hint
    [view] = elements(wechat, "a", data_view_certificate="")
    assert view.attrs["href"] == f"/certificates/{certificate.id}/view"
    chrome = client.get("/me/certificates", headers={"User-Agent": CHROME}).get_data(as_text=True)
    assert not elements(chrome, data_wechat_hint="") and elements(chrome, "a", data_view_certificate="")


def test_the_certificates_inline_view_shows_the_pdfs_text_and_qr_code(app, certified):
    worker, course, certificate = certified
    client = login_client(app, worker)
    page = client.get(f"/certificates/{certificate.id}/view", headers={"User-Agent": WECHAT})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and elements(html, data_wechat_hint="")
    assert elements(html, "article", data_certificate_sheet=certificate.serial)
    sheet = text_of(html, "article", "data-certificate-sheet")
    assert "张小明" in sheet and course.title in sheet and "结业证书" in sheet and certificate.serial in sheet
    [url] = qr_codes(client.get(f"/certificates/{certificate.id}/pdf").data)
    assert svg_qr_link(html) == url and url.endswith(f"/verify/{certificate.token}")


def test_only_the_holder_and_its_admins_see_the_inline_view(app, certified, make_user, make_admin, tree):
    _worker, _course, certificate = certified
    other = login_client(app, make_user("李四", union=tree.a1))
    assert other.get(f"/certificates/{certificate.id}/view").status_code == 404
    assert other.get("/certificates/99999999/view").status_code == 404
    admin = login_client(app, make_admin(tree.district_a))
    assert admin.get(f"/certificates/{certificate.id}/view").status_code == 200
    assert app.test_client().get(f"/certificates/{certificate.id}/view").status_code == 302  # log in first


def test_the_transcripts_inline_view_has_the_pdfs_qr_code(app, tree, make_user):
    worker = make_user("张小明", union=tree.a1)
    credit(worker, 90)
    client = login_client(app, worker)
    mine = client.get("/me/hours", headers={"User-Agent": WECHAT}).get_data(as_text=True)
    assert elements(mine, data_wechat_hint="")
    [view] = elements(mine, "a", data_transcript_view="")
    page = client.get(view.attrs["href"], headers={"User-Agent": WECHAT})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and view.attrs["href"] == f"/me/hours/{TODAY.year}"
    assert elements(html, "article", data_transcript=str(TODAY.year)) and elements(html, data_wechat_hint="")
    transcript = text_of(html, "article", "data-transcript")
    assert "张小明" in transcript and "90" in transcript
    [url] = qr_codes(client.get(f"/me/hours/{TODAY.year}.pdf").data)
    assert svg_qr_link(html) == url and "/hours/verify/" in url
    assert client.get("/me/hours/1800").status_code == 404
    db.session.remove()

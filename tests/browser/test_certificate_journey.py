"""Journey at phone width in zh_CN: a worker completes a course, finds the certificate and downloads its
PDF; a visitor types the serial on /verify and sees it valid; an admin revokes it; the visitor sees
it revoked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD


@pytest.fixture
def app_config() -> dict:
    # A lesson counts as studied at once, so the journey does not wait for heartbeats.
    return {"WTF_CSRF_ENABLED": True, "LESSON_COMPLETE_SHARE": 0}


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("#identifier", user.mobile)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def test_complete_download_verify_revoke(live_server, new_page, tree, make_course, make_user, make_admin, tmp_path):
    course = make_course("低压电工作业安全规程", lessons=1, target_level=4, certificate_months=36)
    worker = make_user("张小明", union=tree.a1, locale="zh_CN")
    admin = make_admin(tree.district_a, "钱丽华", locale="zh_CN")

    student = new_page("zh-CN")
    log_in(student, live_server, worker)
    student.goto(f"{live_server}/courses/{course.id}")
    student.locator("[data-enroll]").click()
    expect(student.locator("[data-enrollment-status=enrolled]")).to_be_visible()
    student.goto(f"{live_server}/courses/{course.id}/lessons/1")
    student.locator("[data-complete]").click()
    student.goto(f"{live_server}/me/certificates")
    card = student.locator("[data-certificate]")
    expect(card).to_have_count(1)
    serial = card.get_attribute("data-certificate")
    assert re.fullmatch(r"ZGXT-\d{4}-\d{7}-[0-9A-Z]", serial)
    expect(card).to_contain_text("低压电工作业安全规程")
    screenshot(student, "certificates-mine-zh-CN")
    with student.expect_download() as download_info:
        card.locator("[data-download-pdf]").click()
    path = tmp_path / "certificate.pdf"
    download_info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF") and download_info.value.suggested_filename == f"{serial}.pdf"

    visitor = new_page("zh-CN")
    visitor.goto(f"{live_server}/verify")
    visitor.fill("#serial", serial.lower().replace("-", " "))
    visitor.locator("[data-verify-submit]").click()
    expect(visitor.locator("[data-certificate-status=valid]")).to_be_visible()
    expect(visitor.locator("[data-holder]")).to_have_text("张*明")
    screenshot(visitor, "certificate-verify-valid-zh-CN")

    office = new_page("zh-CN")
    log_in(office, live_server, admin)
    office.goto(f"{live_server}/certificates/")
    office.locator(f"[data-admin-certificate='{serial}']").click()
    office.fill("#reason", "培训记录有误，证书作废")
    office.locator("[data-revoke]").click()
    expect(office.locator(".alert-success")).to_be_visible()

    visitor.reload()
    expect(visitor.locator("[data-certificate-status=revoked]")).to_be_visible()
    expect(visitor.locator("[data-revoked-on]")).to_be_visible()  # the date, never the admin's reason
    expect(visitor.locator("body")).not_to_contain_text("培训记录有误")
    screenshot(visitor, "certificate-verify-revoked-zh-CN")

"""Journey: register → apply to a grassroots union → its admin approves → the worker sees the
membership active with its member number. At phone width, in zh_CN and in en."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

TEXT = {
    "zh-CN": {"lang": "zh-CN", "member_no": "会员编号", "approved": "已批准"},
    "en-US": {"lang": "en", "member_no": "Member number", "approved": "Approved"},
}


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_register_apply_approve_and_see_member_number(live_server, new_page, tree, make_admin, locale):
    words = TEXT[locale]
    admin = make_admin(tree.a1, "孙建华")
    worker = new_page(locale)
    worker.goto(f"{live_server}/auth/register")
    expect(worker.locator("html")).to_have_attribute("lang", words["lang"])
    worker.fill("#real_name", "王小工")
    worker.fill("#mobile", "139 1234 5678")
    worker.fill("#password", "Steel-Worker-2026")
    worker.fill("#confirm", "Steel-Worker-2026")
    worker.fill("#union_query", "华东")
    expect(worker.locator("#union_id option")).to_have_count(1)
    worker.select_option("#union_id", str(tree.a1.id))
    worker.check("#consent")
    screenshot(worker, f"register-{locale}")
    worker.locator("form button[type=submit]:not([name=search])").click()
    expect(worker).to_have_url(re.compile(r"/me$"))
    expect(worker.locator("[data-membership-status=applied]")).to_be_visible()

    office = new_page(locale)
    office.goto(f"{live_server}/auth/login")
    office.fill("#identifier", admin.mobile)
    office.fill("#password", PASSWORD)
    office.locator("form button[type=submit]").click()
    office.goto(f"{live_server}/unions/{tree.a1.id}/applications")
    card = office.locator("[data-application]", has_text="王小工")
    expect(card).to_be_visible()
    screenshot(office, f"applications-{locale}")
    card.locator("button.btn-success").click()
    expect(office.locator(".alert-success")).to_be_visible()

    worker.reload()
    expect(worker.locator("[data-membership-status=active]")).to_be_visible()
    expect(worker.locator("[data-member-no]")).to_have_text("A1-000001")
    expect(worker.get_by_text(words["member_no"]).first).to_be_visible()
    screenshot(worker, f"member-active-{locale}")
    worker.goto(f"{live_server}/me/notifications")
    expect(worker.locator("[data-notification]").first).to_contain_text("A1-000001")

"""Journey: a partner's developer opens /api/docs: Swagger UI (vendored) draws the served OpenAPI document
under the app's Content-Security-Policy, without one violation."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_the_api_documentation_renders_under_the_csp(live_server, new_page):
    page = new_page("zh-CN")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Worker Classroom API")
    expect(page.locator('.opblock-summary-path[data-path="/api/v1/courses/{course_id}"]')).to_be_visible()
    screenshot(page, "api-docs")
    assert problems == [], problems

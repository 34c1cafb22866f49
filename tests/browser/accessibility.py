"""The accessibility gate of the browser journeys (issue 16). While a journey runs, nothing is evaluated in
its pages: a response listener only notes each HTML page it loaded by GET (evaluating inside a route or
event handler during a navigation deadlocks Playwright). When the journey is over, each page is opened
again, in a fresh tab of the context (the role) that loaded it, at 360×640, with the phone menu opened
(and its drop-downs), and axe-core (tests/vendor/axe-core, never served) runs over the whole document from
the test, outside any callback: in Chinese, then in English in the elder-friendly mode (关怀模式, switched
on with the header's switch), where every tap target must also be at least 44×44 CSS px. A page wider than
the screen counts too. A serious or critical violation fails the test, naming the page, the rule and the
nodes.

Bounds (about a second per page view on 2 cores): each page once per role and shape (/courses/3 and
/courses/4 are one page; the query's values and ?lang= ignored), at most MAX_PAGES per test, axe given
AXE_TIMEOUT_MS per run; the gate runs on one database backend (the pages are the same on both)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from playwright.sync_api import Error as PlaywrightError

AXE_SOURCE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js").read_text("utf-8")
AUDIT_VIEWPORT = {"width": 360, "height": 640}
CARE_TARGET_PX = 44
CARE_BODY_PX = 18
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice", "experimental"]
MAX_NODES = 4
# Not ours to fix: Swagger UI (the API's documentation for developers at /api/docs, a third-party bundle) fails
# color-contrast, nested-interactive and target-size in its own markup; the page around it is audited.
EXCLUDED = [".swagger-ui"]
MAX_PAGES = 30  # per test: the journeys load 5–20 distinct pages each
AXE_TIMEOUT_MS = 20_000

RUN_AXE = """async ([excluded, tags, failing, timeout]) => {
  const late = new Promise((_, reject) => setTimeout(() => reject(new Error("axe timed out")), timeout));
  const found = await Promise.race([late, axe.run({include: [["html"]], exclude: excluded.map(e => [e])},
                              {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})]);
  const problems = found.violations.filter(v => failing.includes(v.impact)).map(v => ({
    rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + "  " + n.html.slice(0, 160))}));
  const root = document.scrollingElement || document.documentElement;
  if (root.scrollWidth > window.innerWidth + 1) {
    problems.push({rule: "reflow", impact: "serious", help: "The page scrolls sideways (" + root.scrollWidth
      + " px wide on a " + window.innerWidth + " px screen)", nodes: [...document.querySelectorAll("body *")]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.children.length === 0)
      .slice(0, 4).map(e => e.tagName.toLowerCase() + "." + [...e.classList].join(".") + "  "
                          + e.outerHTML.slice(0, 120))});
  }
  return problems;
}"""

# Open the collapsed menu and its drop-downs as a tap on the menu button would (without the animation).
MENU = """(open) => {
  const menu = document.getElementById("main-nav");
  if (!menu) { return false; }
  for (const element of [menu, ...menu.querySelectorAll(".dropdown-menu")]) {
    element.classList.toggle("show", open);
  }
  return true;
}"""

# Every visible tap target smaller than the minimum. A link inside a sentence is exempt (WCAG 2.5.5's
# inline exception); a checkbox or radio button counts together with its label, which toggles it too.
SMALL_TARGETS = """(minimum) => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], "
                 + "[tabindex]:not([tabindex='-1'])";
  const inSentence = (element) => {
    if (getComputedStyle(element).display !== "inline") { return false; }
    const block = element.parentElement;
    const own = element.textContent.trim().length;
    return block && block.textContent.replace(/\\s+/g, "").length > own + 2;
  };
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    if (element.closest(".visually-hidden-focusable") && document.activeElement !== element) { continue; }
    let box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(element).visibility === "hidden") { continue; }
    if (element.tagName === "A" && inSentence(element)) { continue; }
    if (["checkbox", "radio"].includes(element.type) && element.labels && element.labels.length) {
      const boxes = [box, ...[...element.labels].map(label => label.getBoundingClientRect())];
      const left = Math.min(...boxes.map(b => b.left)), right = Math.max(...boxes.map(b => b.right));
      const top = Math.min(...boxes.map(b => b.top)), bottom = Math.max(...boxes.map(b => b.bottom));
      box = {width: right - left, height: bottom - top};
    }
    if (box.width < minimum - 0.5 || box.height < minimum - 0.5) {
      small.push(Math.round(box.width) + "×" + Math.round(box.height) + "  " + element.outerHTML.slice(0, 140));
    }
  }
  return small;
}"""


@dataclass
class Auditor:
    """Collects the problems of one test's pages; ``problems`` empty means the pages passed."""

    problems: list[str] = field(default_factory=list)
    loaded: dict = field(default_factory=dict)  # context -> the GET pages its journey loaded, in order
    audits: int = 0
    skipped: int = 0
    seconds: float = 0.0

    # ---- during the journey: listen only --------------------------------------------------
    def watch(self, page) -> None:
        """Remember the HTML pages ``page`` loads by GET (no evaluation here: see the module's note)."""
        pages = self.loaded.setdefault(page.context, [])

        def loaded(response) -> None:
            request = response.request
            if (request.method == "GET" and response.status == 200 and request.is_navigation_request()
                    and response.frame.parent_frame is None
                    and "text/html" in response.headers.get("content-type", "")):
                pages.append(_without_lang(response.url))

        page.on("response", loaded)

    # ---- after the journey ------------------------------------------------------------------
    def finish(self) -> None:
        """Every page each context loaded, again, in both languages and in the care mode."""
        started, budget = time.monotonic(), MAX_PAGES
        for context, urls in self.loaded.items():
            unique = list({_shape(url): url for url in reversed(urls)}.values())[::-1]
            taken, budget = unique[:budget], budget - len(unique[:budget])
            self.skipped += len(unique) - len(taken)
            if taken:
                self.revisit(context, taken)
        self.seconds += time.monotonic() - started

    def revisit(self, context, urls: list[str]) -> None:
        """Each page at 360×640: in Chinese, then in English in the care mode switched on in the header."""
        page = context.new_page()
        page.set_viewport_size(AUDIT_VIEWPORT)
        try:
            shown = self._each(page, urls, "zh_CN", "zh-CN")
            switch_on = self._with_switch(page, shown)
            if switch_on is not None:
                self._care(page, switch_on, on=True)
                self._each(page, shown, "en", "en, care mode", care=True)
                self._care(page, switch_on, on=False)  # as the journey left it
        finally:
            page.close()

    def _with_switch(self, page, urls: list[str]) -> str | None:
        """A page with the care mode's switch in its header (every page but the API's documentation, whose
        role sees no other; tests/test_care_mode.py checks the switch is there)."""
        for url in reversed(urls):
            page.goto(_with_lang(url, "zh_CN"))
            if page.locator("[data-care-toggle]").count():
                return url
        return None

    def _care(self, page, url: str, *, on: bool) -> None:
        """The header's switch pressed (a plain form: POST, then back to the page)."""
        page.goto(_with_lang(url, "zh_CN"))
        if page.locator("html.care").count() != on:
            page.locator("[data-care-toggle]").first.click()
            page.wait_for_selector("html.care" if on else "html:not(.care)", state="attached")

    def _each(self, page, urls: list[str], lang: str, variant: str, *, care: bool = False) -> list[str]:
        """Audit each page that still answers with HTML; those pages."""
        shown = []
        for url in urls:
            try:
                response = page.goto(_with_lang(url, lang))
            except PlaywrightError:  # a page that now downloads, or that is gone
                continue
            if response is None or response.status != 200 \
                    or "text/html" not in response.headers.get("content-type", ""):
                continue  # (a page the journey's later steps removed or closed)
            self.audit(page, variant, care=care)
            shown.append(url)
        return shown

    # ---- one page -------------------------------------------------------------------------
    def audit(self, page, variant: str, *, care: bool = False) -> None:
        """axe on the page with its menu opened; in the care mode the size of its tap targets."""
        if page.evaluate("() => typeof window.axe === 'undefined'"):
            page.evaluate(AXE_SOURCE + "\n;true")
        where = f"{_path(page.url)} [{variant}" + (", menu opened]" if page.evaluate(MENU, True) else "]")
        self._add(where, page.evaluate(RUN_AXE, [EXCLUDED, TAGS, ["serious", "critical"], AXE_TIMEOUT_MS]))
        if care:
            self._small(where, page.evaluate(SMALL_TARGETS, CARE_TARGET_PX))
            body = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
            if body < CARE_BODY_PX:
                self.problems.append(f"{where}: care-mode body text {body} px (at least {CARE_BODY_PX})")
        self.audits += 1

    def _add(self, where: str, violations: list[dict]) -> None:
        for violation in violations:
            nodes = "\n      ".join(violation["nodes"][:MAX_NODES])
            self.problems.append(f"{where}: {violation['rule']} ({violation['impact']}) {violation['help']}"
                                 f" [{len(violation['nodes'])} node(s)]\n      {nodes}")

    def _small(self, where: str, targets: list[str]) -> None:
        if targets:
            shown = "\n      ".join(targets[:MAX_NODES])
            self.problems.append(f"{where}: care-mode target below {CARE_TARGET_PX}×{CARE_TARGET_PX} px "
                                 f"({len(targets)})\n      {shown}")

    def report(self) -> str:
        """The problems, one paragraph each."""
        return f"{len(self.problems)} accessibility problem(s):\n  " + "\n  ".join(self.problems)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _shape(url: str) -> str:
    """What tells one page from another: its path with the numbers taken out, and its query's names."""
    parts = urlsplit(url)
    names = sorted({key for key, _value in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "#", parts.path) + "?" + "&".join(names)


def _without_lang(url: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "lang"])
    return urlunsplit(parts._replace(query=query, fragment=""))


def _with_lang(url: str, lang: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("lang", lang)]
    return urlunsplit(parts._replace(query=urlencode(query)))

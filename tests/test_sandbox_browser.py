"""The sandbox page in a real browser: /oncall, an alert card, Escalate to CEO, the CEO's DM.

Headless Chromium (Debian's `chromium` package) driven by Playwright; Playwright's own browser
downloads are never used. Skips, saying why, where no Chromium is installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox.run import Sandbox
from tests.test_sandbox import send_readme_curl

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Playwright waits for what the page shows; a slow shared machine gets this long per step.
STEP_TIMEOUT_MS = 20_000


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            sync_api.expect.set_options(timeout=STEP_TIMEOUT_MS)
            try:
                yield page
            except BaseException:
                page.screenshot(path=str(tmp_path / "sandbox-failure.png"), full_page=True)
                raise
        finally:
            browser.close()


def test_oncall_then_an_alert_escalated_to_the_ceo_reaches_her_dm(browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    with Sandbox(port=0) as sandbox:
        services = sandbox.services
        holder = services.roster.status("support", services.clock.now()).oncall.user
        names = {u.id: u.real_name for u in sandbox.standin.users()}

        page.goto(sandbox.url + "/")
        expect(page.locator("#user-select option")).to_have_count(5)
        page.select_option("#user-select", "U0BOB")
        expect(page.locator("#pane-title")).to_have_text("#support")

        # /oncall, typed in #support: the answer is Bob's alone, and names the pager holder.
        page.fill("#command-input", "/oncall")
        page.press("#command-input", "Enter")
        answer = page.locator(".message.ephemeral").last
        expect(answer).to_contain_text(f"@{names[holder]} is on call now")
        expect(answer).to_contain_text("Only visible to you")

        # An alert sent to the intake, as the README says: its card appears in #support.
        sent = send_readme_curl(sandbox.url)
        assert sent.status_code == 202, sent.text
        card = page.locator(".message", has_text="Checkout fails for Acme")
        escalate = card.locator("button[data-action-id=alert-escalate-ceo]")
        expect(escalate).to_have_text("Escalate to CEO")
        assert sandbox.standin.dms("U0CEO") == [], "an error-level alert waits for a click"

        # Escalate to CEO asks first; confirming pages the CEO.
        escalate.click()
        dialog = page.locator("#confirm")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Escalate to CEO?")
        dialog.locator("[data-confirm=yes]").click()
        expect(page.locator("#confirm-backdrop")).to_be_hidden()
        expect(card).to_contain_text("Escalated to the CEO by @Bob Tanaka")

        # The CEO opens her DM with Watchkeeper: the alert is there, with who escalated it.
        page.select_option("#user-select", "U0CEO")
        page.locator("#dm-list button.conv").click()
        expect(page.locator("#pane-title")).to_have_text("Watchkeeper")
        dm = page.locator("#messages .message", has_text="Checkout fails for Acme")
        expect(dm).to_contain_text("@Bob Tanaka escalated this to the CEO")
        expect(dm.locator("button[data-action-id=alert-ack]")).to_be_visible()
        # Her DM does not offer her to page herself.
        expect(dm.locator("button[data-action-id=alert-escalate-ceo]")).to_have_count(0)


def test_the_page_says_plainly_when_the_command_is_not_one_of_the_apps(
    browser_page: Any,
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    with Sandbox(port=0) as sandbox:
        page.goto(sandbox.url + "/")
        expect(page.locator("#user-select option")).to_have_count(5)
        page.fill("#command-input", "/pager")
        page.press("#command-input", "Enter")
        expect(page.locator("#status")).to_have_text(
            "/pager is not a command of this app: try /oncall, /swap, /cover, /escalate"
        )
        assert httpx.get(sandbox.url + "/healthz", timeout=10).status_code == 200

"""The sandbox page in a real browser: /oncall, an alert card, Escalate to CEO, the CEO's DM,
forms that keep what was typed, mentions, emoji and links drawn as Slack draws them, and a
console free of errors all along.

Headless Chromium (Debian's `chromium` package) driven by Playwright; Playwright's own browser
downloads are never used. Skips, saying why, where no Chromium is installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.app.sandbox import BOT_TOKEN, Sandbox
from tests.support.sandbox import TEAM_CHANNEL, send_readme_curl

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Playwright waits for what the page shows; a slow shared machine gets this long per step.
STEP_TIMEOUT_MS = 20_000


@dataclass
class Browser:
    """A page in headless Chromium, and what went wrong in it that a user would not see."""

    page: Any
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            sync_api.expect.set_options(timeout=STEP_TIMEOUT_MS)
            opened = Browser(page)
            # Errors and warnings of the console (a 404 logs one), uncaught exceptions, and
            # anything the page asked for and did not get.
            page.on(
                "console",
                lambda m: (
                    m.type in ("error", "warning")
                    and opened.problems.append(f"console {m.type}: {m.text} {m.location}")
                ),
            )
            page.on("pageerror", lambda e: opened.problems.append(f"uncaught: {e}"))
            page.on(
                "response",
                lambda r: r.status >= 400 and opened.problems.append(f"{r.status} {r.url}"),
            )
            try:
                yield opened
            except BaseException:
                page.screenshot(path=str(tmp_path / "sandbox-failure.png"), full_page=True)
                raise
        finally:
            chromium.close()


def open_as(browser: Browser, sandbox: Sandbox, user: str) -> Any:
    """The page, acting as ``user``, once it shows #support."""
    from playwright.sync_api import expect

    page = browser.page
    page.goto(sandbox.url + "/")
    expect(page.locator("#user-select option")).to_have_count(5)
    page.select_option("#user-select", user)
    expect(page.locator("#pane-title")).to_have_text("#support")
    return page


def command(page: Any, line: str) -> None:
    page.fill("#command-input", line)
    page.press("#command-input", "Enter")


def test_oncall_then_an_alert_escalated_to_the_ceo_reaches_her_dm(browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
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
    assert browser.problems == []


def test_the_page_says_plainly_when_the_command_is_not_one_of_the_apps(browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
    with Sandbox(port=0) as sandbox:
        page.goto(sandbox.url + "/")
        expect(page.locator("#user-select option")).to_have_count(5)
        command(page, "/pager")
        expect(page.locator("#status")).to_have_text(
            "/pager is not a command of this app: try /oncall, /swap, /cover, /escalate"
        )
        assert httpx.get(sandbox.url + "/healthz", timeout=10).status_code == 200
    # As in Slack, a command the workspace does not have is refused without an error.
    assert browser.problems == []


def test_an_empty_channel_says_to_type_oncall_until_something_is_said(browser: Browser) -> None:
    from playwright.sync_api import expect

    with Sandbox(port=0) as sandbox:
        page = open_as(browser, sandbox, "U0CAROL")
        hint = page.locator("#messages #first-visit")
        expect(hint).to_contain_text("This is the very beginning of the #support channel.")
        expect(hint).to_contain_text("Type /oncall below to see who holds the pager now")
        for name in ("/oncall", "/swap", "/cover", "/escalate"):
            expect(hint.locator("code", has_text=name)).to_have_count(1)

        # Clicking the command puts it in the box; sending it answers, and the hint goes.
        hint.locator("button", has_text="/oncall").first.click()
        expect(page.locator("#command-input")).to_have_value("/oncall")
        page.press("#command-input", "Enter")
        expect(page.locator(".message.ephemeral")).to_contain_text("is on call now")
        expect(hint).to_have_count(0)

        # Her DM with the app is still empty: it says where she is.
        page.locator("#dm-list button.conv").click()
        expect(hint).to_contain_text(
            "This is the very beginning of your direct messages with Watchkeeper."
        )
    assert browser.problems == []


def test_a_form_the_bot_refuses_keeps_what_was_typed_with_the_error_beside_it(
    browser: Browser,
) -> None:
    from playwright.sync_api import expect

    with Sandbox(port=0) as sandbox:
        # Bob reads English (the sandbox's Alice reads French, Dan Portuguese).
        page = open_as(browser, sandbox, "U0BOB")
        command(page, "/swap")
        form = page.locator("#modal")
        expect(form.locator("h2")).to_have_text("Swap a shift")
        mine = form.locator("[data-block-id=my_shift]")
        expect(mine.locator("option")).not_to_have_count(1)
        mine.select_option(index=1)
        picked = mine.input_value()
        # Dan is the team's backup: he holds no shift of the pager to swap with.
        form.locator("[data-block-id=teammate]").select_option("U0DAN")
        day = (date.today() + timedelta(days=3)).isoformat()
        form.locator("[data-block-id=their_shift]").fill(day)
        form.locator("button[type=submit]").click()

        error = form.locator("[data-input-block=their_shift] .error")
        expect(error).to_contain_text("has no shift in Customer support")
        # The form is the one that was filled: nothing typed is lost.
        expect(mine).to_have_value(picked)
        expect(form.locator("[data-block-id=teammate]")).to_have_value("U0DAN")
        expect(form.locator("[data-block-id=their_shift]")).to_have_value(day)
        assert len(sandbox.standin.open_views("U0BOB")) == 1

        # A required input left empty is refused before the bot hears of it, as Slack does.
        form.locator("[data-block-id=their_shift]").fill("")
        form.locator("button[type=submit]").click()
        expect(error).to_have_text("Please complete this required field.")
        expect(form.locator("[data-block-id=teammate]")).to_have_value("U0DAN")
    assert browser.problems == []


def test_a_form_the_bot_updates_while_open_keeps_what_was_typed(browser: Browser) -> None:
    from playwright.sync_api import expect

    with Sandbox(port=0) as sandbox:
        page = open_as(browser, sandbox, "U0CAROL")
        command(page, "/escalate")
        form = page.locator("#modal")
        what = form.locator("textarea")
        what.fill("Acme says refunds hang")
        (view,) = sandbox.standin.open_views("U0CAROL")

        # The bot changes the form (views.update): same inputs, one more line of text.
        blocks = [
            *view["blocks"],
            {"type": "section", "text": {"type": "mrkdwn", "text": "Updated :bell:"}},
        ]
        WebClient(token=BOT_TOKEN, base_url=sandbox.standin.base_url).views_update(
            view_id=view["id"],
            view={
                "type": "modal",
                "callback_id": view["callback_id"],
                "title": view["title"],
                "submit": view["submit"],
                "close": view["close"],
                "private_metadata": view["private_metadata"],
                "blocks": blocks,
            },
        )
        expect(form).to_contain_text("Updated")
        expect(what).to_have_value("Acme says refunds hang")
    assert browser.problems == []


def test_mentions_links_and_emoji_are_drawn_as_slack_draws_them(browser: Browser) -> None:
    from playwright.sync_api import expect

    with Sandbox(port=0) as sandbox:
        page = open_as(browser, sandbox, "U0BOB")

        # The bot names the channel by id (<#C0SUPPORT>): the page shows #support.
        command(page, "/escalate Acme says checkout fails since 21:40")
        answer = page.locator(".message.ephemeral", has_text="Acme says checkout fails")
        expect(answer.locator("[data-mention=channel]")).to_have_text("#support")
        expect(answer).not_to_contain_text("C0SUPPORT")
        expect(answer).not_to_contain_text("<@")

        # What another app may post: group and special mentions, labelled links, emoji.
        client = WebClient(token=BOT_TOKEN, base_url=sandbox.standin.base_url)
        client.chat_postMessage(
            channel=TEAM_CHANNEL,
            text=(
                "<!here> <!subteam^S0ONCALL|@oncall> see <https://wiki.example.com/refunds|the "
                "runbook> in <#C0SUPPORT|old-name>, ask <@U0DAN> or <mailto:ops@example.com|ops> "
                ":rotating_light: :no_such_emoji: 5 &lt; 6 &amp; ok"
            ),
        )
        posted = page.locator(".message", has_text="see the runbook")
        expect(posted).to_contain_text(
            "@here @support-oncall see the runbook in #support, ask @Dan Okafor or ops"
        )
        expect(posted).to_contain_text(":no_such_emoji: 5 < 6 & ok")
        link = posted.locator("a", has_text="the runbook")
        expect(link).to_have_attribute("href", "https://wiki.example.com/refunds")
        expect(posted.locator("a", has_text="ops")).to_have_attribute(
            "href", "mailto:ops@example.com"
        )
        expect(posted.locator("img.emoji[alt=':rotating_light:']")).to_be_visible()
        client.chat_postMessage(
            channel=TEAM_CHANNEL, text="Steps:\n&gt; restart the *worker*\n```kill -HUP 1```"
        )
        steps = page.locator(".message", has_text="Steps:")
        expect(steps.locator("blockquote strong")).to_have_text("worker")
        expect(steps.locator("pre")).to_have_text("kill -HUP 1")

        # The alert card's own emoji are pictures that loaded, on a machine with no emoji font.
        assert send_readme_curl(sandbox.url).status_code == 202
        card = page.locator(".message", has_text="Checkout fails for Acme")
        expect(card.locator("img.emoji").first).to_be_visible()
        drawn = card.locator("img.emoji").evaluate_all(
            "images => images.map(i => [i.alt, i.complete && i.naturalWidth > 0])"
        )
        assert drawn and all(loaded for _, loaded in drawn), drawn
        assert not any(":" in text for text in card.locator(".header").all_inner_texts())
    assert browser.problems == []


def test_a_critical_alert_rings_the_holders_phone_panel_and_its_link_acknowledges(
    browser: Browser,
) -> None:
    from playwright.sync_api import expect

    with Sandbox(port=0) as sandbox:
        services = sandbox.services
        holder = services.roster.status("support", services.clock.now()).oncall.user
        assert holder is not None
        names = {u.id: u.real_name for u in sandbox.standin.users()}
        page = open_as(browser, sandbox, holder)
        expect(page.locator("#phone-title")).to_have_text(f"{names[holder]}'s phone")
        expect(page.locator("#phone")).to_contain_text("No wake-up yet")

        sent = httpx.post(
            f"{sandbox.url}/alerts/helpdesk?token=sandbox-token",
            json={"title": "Site down", "severity": "critical", "customer": "Acme"},
            timeout=30,
        )
        assert sent.status_code == 202, sent.text
        push = page.locator("#phone .push", has_text="Site down")
        expect(push.locator(".title")).to_have_text("[CRITICAL] Site down")
        link = push.locator("a", has_text="/ack/")
        expect(link).to_have_attribute("target", "_blank")

        # Opened from the phone, the link shows the alert; Acknowledge marks the card.
        with page.context.expect_page() as opened:
            link.click()
        ack_page = opened.value
        expect(ack_page.locator("body")).to_contain_text("Site down")
        ack_page.locator("button", has_text="Acknowledge").click()
        expect(ack_page.locator("body")).to_contain_text("Acknowledged")
        card = page.locator(".message", has_text="Site down")
        expect(card).to_contain_text(f"Acknowledged by @{names[holder]}")
    assert browser.problems == []

"""Runbooks: the setup file's procedures, matched on an alert's labels, customer, team or severity
(exact or /regex/, first match first), shown on the card and in the DM; a bad regex refused by
`watchkeeper check` with its line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.alerts.runbooks import runbook_for
from bot.app.cli import main
from bot.plan.reading import parse_plan
from tests.conftest import fixture_bytes
from tests.harness import Harness, message_text, mrkdwn_texts, slack_harness
from tests.support.relay import FRIDAY_NIGHT, PLAN, TOKENS, card_of, cards, delivery_of
from tests.support.setup_check import line_of, problems

RUNBOOKS = """\
runbooks:
  - match: {alertname: CheckoutHighErrorRate, severity: critical}
    url: https://wiki.example.com/runbooks/checkout
    text: "Roll back the last deploy first; <!channel> & <https://evil.example|click> stay words."
  - match: {zone: "/^us-/"}
    text: US zones page the Denver desk as well.
  - match: {customer: "/^Acme/"}
    text: "Acme has a 1-hour SLA: call their ops desk, +33 1 23 45 67 89."
    url: https://wiki.example.com/customers/acme
  - match: {team: support}
    text: Read the support handbook.
"""
HELPDESK = """\
  helpdesk:
    kind: generic
    team: support
    token_env: HELPDESK_TOKEN
"""
SETUP = PLAN + HELPDESK + RUNBOOKS
ENV = {**TOKENS, "HELPDESK_TOKEN": "help-91c2"}


def plan_with(runbooks: str) -> str:
    return PLAN + runbooks


def alert(**fields: Any) -> SimpleNamespace:
    """What a runbook is matched against, as a stored alert carries it."""
    values: dict[str, Any] = {"team": "support", "severity": "warning", "customer": None}
    return SimpleNamespace(**(values | {"labels": {}} | fields))


# --- matching ------------------------------------------------------------------------------------


def test_the_first_runbook_whose_every_condition_holds_is_the_one() -> None:
    plan = parse_plan(SETUP, "oncall.yaml")
    checkout = {"alertname": "CheckoutHighErrorRate"}
    # Both conditions of the first runbook, or it is not the one.
    first = runbook_for(alert(severity="critical", labels=checkout), plan)
    assert first is not None and first.url == "https://wiki.example.com/runbooks/checkout"
    assert runbook_for(alert(severity="warning", labels=checkout), plan) == plan.runbooks[3]
    # A regular expression is searched in the value: /^us-/ holds for us-1, not for eu-1.
    assert runbook_for(alert(labels={"zone": "us-1"}), plan) == plan.runbooks[1]
    assert runbook_for(alert(labels={"zone": "eu-1"}), plan) == plan.runbooks[3]
    assert runbook_for(alert(customer="Acme Corp"), plan) == plan.runbooks[2]
    assert runbook_for(alert(customer="The Acme Corp"), plan) == plan.runbooks[3]
    # No runbook for another team's alert that matches nothing else.
    assert runbook_for(alert(team="billing"), plan) is None


def test_team_severity_and_customer_hold_for_the_alerts_own_value_or_a_label_of_that_name() -> None:
    plan = parse_plan(
        plan_with("runbooks:\n  - match: {team: blue}\n    text: Blue team's book.\n"),
        "oncall.yaml",
    )
    # Grafana's sample carries team=blue among its labels; the alert's own team is support.
    assert runbook_for(alert(labels={"team": "blue"}), plan) == plan.runbooks[0]
    assert runbook_for(alert(), plan) is None
    exact = parse_plan(
        plan_with("runbooks:\n  - match: {customer: Acme}\n    text: Acme's book.\n"),
        "oncall.yaml",
    )
    # Exact means exact: not a prefix, not another case.
    assert runbook_for(alert(customer="Acme"), exact) == exact.runbooks[0]
    assert runbook_for(alert(customer="Acme Corp"), exact) is None
    assert runbook_for(alert(customer="acme"), exact) is None
    assert runbook_for(alert(customer=None), exact) is None


# --- the setup file ------------------------------------------------------------------------------


def test_watchkeeper_check_refuses_a_bad_regex_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = plan_with(
        "runbooks:\n"
        "  - match: {alertname: DiskFull}\n"
        "    text: Free some space.\n"
        "  - match:\n"
        '      customer: "/^(Acme/"\n'
        "    text: Call Acme.\n"
    )
    path = tmp_path / "oncall.yaml"
    path.write_text(text)
    code = main(["check", str(path)])
    _, err = capsys.readouterr()
    assert code == 1
    line = line_of(text, "/^(Acme/")
    assert err.strip() == (
        f"{path}:{line}: runbooks[1].match.customer: '/^(Acme/' is not a regular expression "
        "Python reads: missing ), unterminated subpattern at character 2"
    )


@pytest.mark.parametrize(
    ("runbooks", "snippet", "says"),
    [
        (
            "runbooks:\n  - match: {alertname: X}\n",
            "- match",
            "runbooks[0]: a runbook shows a url, a text or both: give at least one",
        ),
        (
            "runbooks:\n  - match: {}\n    text: Hello\n",
            "- match",
            "runbooks[0].match: expected a mapping of labels to values, like "
            "{alertname: RefundQueueStuck}, got an empty mapping",
        ),
        (
            "runbooks:\n  - text: Hello\n",
            "- text",
            "runbooks[0].match: missing: the labels (or team, severity, customer) an alert must "
            "carry, like {alertname: RefundQueueStuck}",
        ),
        (
            "runbooks:\n  - match: {alertname: X}\n    url: wiki/refunds\n",
            "url:",
            "runbooks[0].url: expected an http(s) URL like "
            "https://wiki.example.com/runbooks/refunds, got 'wiki/refunds'",
        ),
        (
            "runbooks:\n  - match: {alertname: X}\n    text: " + "x" * 501 + "\n",
            "text:",
            "runbooks[0].text: expected a short text (at most 500 characters), got '"
            + "x" * 501
            + "' of 501 characters: put the rest behind the url",
        ),
        (
            "runbooks:\n  - match: {alertname: [A, B]}\n    text: Hello\n",
            "- match",
            "runbooks[0].match.alertname: expected a value like RefundQueueStuck, or a /regular "
            "expression/, got a list",
        ),
        (
            "runbooks:\n  - match: {alertname: X}\n    text: Hi\n    link: https://x.example\n",
            "link:",
            "runbooks[0].link: unknown key 'link'; expected one of match, url, text",
        ),
    ],
)
def test_a_runbook_mistake_is_named_by_line_and_field(
    runbooks: str, snippet: str, says: str
) -> None:
    text = plan_with(runbooks)
    assert problems(text) == [f"oncall.yaml:{line_of(text, snippet)}: {says}"]


# --- on the card and in the DM -------------------------------------------------------------------


async def post(h: Harness, integration: str, body: bytes) -> None:
    token = ENV[
        {
            "prometheus": "PROMETHEUS_ALERT_TOKEN",
            "grafana": "GRAFANA_ALERT_TOKEN",
            "helpdesk": "HELPDESK_TOKEN",
        }[integration]
    ]
    answer = await h.client.post(
        f"/alerts/{integration}",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 202, answer.text


async def deliver_all(h: Harness) -> None:
    """Deliver every queued card and DM, the clock moving on at the team channel's pace."""
    for _ in range(10):
        await delivery_of(h).drain()
        h.clock.advance(timedelta(seconds=2))


def runbook_section(blocks: list[dict[str, Any]]) -> str:
    """The mrkdwn of the runbook's section of a card or DM."""
    (found,) = [t for t in mrkdwn_texts(blocks) if t.startswith(":hammer_and_wrench: *Runbook:*")]
    return found


async def test_runbooks_matched_by_label_regex_and_customer_on_cards_and_dms(
    tmp_path: Path,
) -> None:
    async with slack_harness(SETUP, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=ENV) as h:
        await post(h, "prometheus", fixture_bytes("alertmanager/v0.25-firing.json"))
        await post(h, "grafana", fixture_bytes("grafana/webhook-docs-example.json"))
        customer = {
            "title": "Refunds stuck for Acme",
            "summary": "Nothing refunded since 20:10.",
            "severity": "error",
            "customer": "Acme Corp",
        }
        await post(h, "helpdesk", json.dumps(customer).encode())
        await deliver_all(h)

        # By label (and severity): the card and Bob's DM show the text, escaped, then the link.
        checkout = card_of(h, "CheckoutHighErrorRate")
        expected = (
            ":hammer_and_wrench: *Runbook:* Roll back the last deploy first; &lt;!channel&gt; "
            "&amp; &lt;https://evil.example|click&gt; stay words.\n"
            "<https://wiki.example.com/runbooks/checkout|https://wiki.example.com/runbooks/checkout>"
        )
        assert runbook_section(checkout.blocks) == expected
        bob_dms = {message_text(dm).splitlines()[0]: dm for dm in h.standin.dms("U0BOB")}
        (checkout_dm,) = [dm for first, dm in bob_dms.items() if "Checkout 5xx" in first]
        assert runbook_section(checkout_dm.blocks) == expected
        # The alert's own runbook_url annotation is a link of its own.
        assert "<https://runbooks.example.com/checkout-5xx|Runbook>" in message_text(checkout)

        # By regex on a label: us-1 has the Denver runbook, eu-1 falls through to the team's.
        us = runbook_section(card_of(h, "High memory usage").blocks)
        assert us == ":hammer_and_wrench: *Runbook:* US zones page the Denver desk as well."
        eu = card_of(h, "High CPU usage")
        assert (
            runbook_section(eu.blocks)
            == ":hammer_and_wrench: *Runbook:* Read the support handbook."
        )
        assert "<https://myrunbook.com/runbook/1234|Runbook>" in message_text(eu)

        # By customer, with a regex: text and link.
        (acme,) = [c for c in cards(h) if "Refunds stuck for Acme" in message_text(c)]
        assert runbook_section(acme.blocks) == (
            ":hammer_and_wrench: *Runbook:* Acme has a 1-hour SLA: call their ops desk, "
            "+33 1 23 45 67 89.\n"
            "<https://wiki.example.com/customers/acme|https://wiki.example.com/customers/acme>"
        )
        (acme_dm,) = [dm for first, dm in bob_dms.items() if "Refunds stuck" in first]
        assert runbook_section(acme_dm.blocks) == runbook_section(acme.blocks)
        h.assert_all_valid()


async def test_an_alert_no_runbook_matches_shows_none(tmp_path: Path) -> None:
    setup = PLAN + "runbooks:\n  - match: {alertname: DiskFull}\n    text: Free some space.\n"
    async with slack_harness(setup, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=TOKENS) as h:
        await post(h, "prometheus", fixture_bytes("alertmanager/v0.25-firing.json"))
        await delivery_of(h).drain()
        (card,) = cards(h)
        assert ":hammer_and_wrench:" not in message_text(card)
        assert "Free some space" not in message_text(card)

"""What senders and users typed reaches Slack as text, never as markup: `<!channel>` pings nobody,
`<https://evil.example|log in>` plants no link, and `p99 > 2s & errors < 5%` reads as sent."""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from bot.alerts.ingest import ingest_batch
from bot.alerts.model import ParsedBatch
from bot.enums import Action
from bot.plan.holder import PlanHolder
from bot.slack.blocks import Message, cut
from bot.slack.blocks.alert import alert_card, alert_dm, leadership_dm
from bot.slack.delivery.content import _loaded
from bot.text.escaping import escape, link, quoted, unescape
from handlers.intake import alertmanager, generic
from storage import alerts as alert_store
from storage.db import make_engine, read_scope, session_scope
from storage.migrate import upgrade
from tests.harness import Harness, markup_problems, mrkdwn_texts, slack_harness, text_objects
from tests.support.forms import form, shift_options
from tests.support.relay import FRIDAY_NIGHT, PLAN, TOKENS, delivery_of

HELPDESK_TOKEN = "help-5c8d2e9b"
ESCAPING_PLAN = (
    PLAN
    + """\
  helpdesk:
    kind: generic
    team: support
    token_env: HELPDESK_ALERT_TOKEN
"""
)
ENV = {**TOKENS, "HELPDESK_ALERT_TOKEN": HELPDESK_TOKEN}
# What the sender slips in: Slack's control sequences, and text that only reads right escaped.
PING = "<!channel>"
MENTION = "<@U0ALICE>"
CHANNEL = "<#C0SUPPORT>"
PHISH = "<https://evil.example|log in>"
MATHS = "p99 > 2s & errors < 5%"
EVERYTHING = f"{PING} {MENTION} {CHANNEL} {PHISH} {MATHS}"
CONTROL = re.compile(r"<[!@#]|<https?:|<http")


def texts_of(message: Mapping[str, Any]) -> list[str]:
    """The mrkdwn of a message: its fallback text and every mrkdwn text of its blocks."""
    return [str(message.get("text") or ""), *mrkdwn_texts(message.get("blocks") or [])]


def assert_only_our_markup(message: Mapping[str, Any]) -> None:
    for text in texts_of(message):
        assert markup_problems(text) == [], text
        # Of the sender's sequences, not one is left whole: every "<" left is one of ours.
        for sequence in (PING, MENTION, CHANNEL, PHISH):
            assert sequence not in text


# --- through the HTTP intake, as a sender sends it ---------------------------------------------


async def send_generic(h: Harness, body: Mapping[str, Any]) -> None:
    answer = await h.client.post(
        "/alerts/helpdesk",
        json=body,
        headers={"Authorization": f"Bearer {HELPDESK_TOKEN}"},
    )
    assert answer.status_code == 202, answer.text
    await delivery_of(h).drain()


async def test_an_alert_carrying_slack_markup_is_shown_as_sent_on_the_card_and_the_dm(
    tmp_path: Path,
) -> None:
    async with slack_harness(ESCAPING_PLAN, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=ENV) as h:
        await send_generic(
            h,
            {
                "title": f"Checkout: {EVERYTHING}",
                "summary": f"Since 21:40 {EVERYTHING}",
                "severity": "critical",
                "customer": f"Acme {PING} & Sons <gold>",
                "source": f"web-1 {MENTION}",
                "labels": {"plan": EVERYTHING, f"{PING}tier": "gold & <platinum>"},
                "link": "https://shop.example/orders?id=42&view=<all>",
            },
        )
        (card,) = h.standin.messages("C0SUPPORT")
        (dm,) = h.standin.dms("U0BOB")  # Bob holds the weekend pager
        (ceo,) = h.standin.dms("U0CEO")  # critical: leadership hears at once
        for message in (card, dm, ceo):
            sent = {"text": message.text, "blocks": message.blocks}
            assert_only_our_markup(sent)
            shown = unescape("\n".join(texts_of(sent)))
            assert f"Checkout: {EVERYTHING}" in unescape(message.text)  # the notification
            assert f"Since 21:40 {EVERYTHING}" in shown
            assert f"Acme {PING} & Sons <gold>" in shown
            assert f"web-1 {MENTION}" in shown
            assert f"plan={EVERYTHING}" in shown
            assert f"{PING}tier=gold & <platinum>" in shown
            # The header is plain_text: Slack shows it as it is, so it is sent unescaped.
            assert any(
                f"Checkout: {EVERYTHING}" in t
                for t in text_objects(message.blocks, ("plain_text",))
            )
        h.assert_all_valid()


async def test_a_link_title_is_escaped_and_a_url_that_cannot_be_a_link_is_text(
    tmp_path: Path,
) -> None:
    event = {
        "routing_key": TOKENS["PAGERDUTY_ROUTING_KEY"],
        "event_action": "trigger",
        "dedup_key": "db-1",
        "payload": {
            "summary": "Replica lag",
            "source": "db-1",
            "severity": "error",
            "custom_details": {"customer": f"Initech {PING}"},
        },
        "links": [
            {"href": "https://grafana.example/d/db?from=now-1h&to=now", "text": PHISH},
            {"href": "https://evil.example/x|click", "text": "Dashboard"},
        ],
    }
    async with slack_harness(ESCAPING_PLAN, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=ENV) as h:
        answer = await h.client.post("/v2/enqueue", json=event)
        assert answer.status_code == 202, answer.text
        await delivery_of(h).drain()
        (card,) = h.standin.messages("C0SUPPORT")
        sent = {"text": card.text, "blocks": card.blocks}
        assert_only_our_markup(sent)
        texts = "\n".join(texts_of(sent))
        # The good URL is a link, its title the sender's words as text.
        assert (
            "<https://grafana.example/d/db?from=now-1h&amp;to=now|"
            "&lt;https://evil.example|log in&gt;>" in texts
        )
        # A URL with "|" would end the link early: it is shown, not linked.
        assert "Dashboard (https://evil.example/x|click)" in unescape(texts)
        assert "<https://evil.example/x" not in texts
        assert f"Initech {PING}" in unescape(texts)
        h.assert_all_valid()


# --- what users type in Slack ------------------------------------------------------------------


async def test_escalate_text_is_shown_as_typed_on_the_card_and_in_the_reply(
    tmp_path: Path,
) -> None:
    async with slack_harness(ESCAPING_PLAN, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=ENV) as h:
        # Slack sends what was typed escaped: "support <!channel> p99 > 2s & errors < 5%".
        sent = await h.command("/escalate", f"support {escape(PING)} {escape(MATHS)}", user="U0DAN")
        # And a mention picked from Slack's list arrives as real markup (should_escape).
        again = await h.command("/escalate", f"support {PHISH} & {MENTION} are down", user="U0DAN")
        await delivery_of(h).drain()
        first, second = h.standin.messages("C0SUPPORT")
        for card, title in ((first, f"{PING} {MATHS}"), (second, f"{PHISH} & {MENTION} are down")):
            message = {"text": card.text, "blocks": card.blocks}
            assert_only_our_markup(message)
            assert title in unescape(card.text)
        assert f"“{PING} {MATHS}”" in unescape(sent.reply_text())
        assert markup_problems(sent.reply_text()) == []
        assert PHISH not in again.reply_text()
        h.assert_all_valid()


TEAM_PLAN = PLAN.replace("name: Customer support", 'name: "R&D <night> crew"')


async def test_typed_days_and_team_names_are_text_in_swap_and_cover_replies_and_posts(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    async with slack_harness(TEAM_PLAN, tmp_path=tmp_path, now=now, env=ENV) as h:
        cover = await h.command("/cover", f"{escape(PING)} & friends", user="U0ALICE")
        assert f"“{PING} & friends”" in unescape(cover.reply_text())
        swap = await h.command("/swap", f"{PING} 2026-12-05 2026-12-12", user="U0ALICE")
        assert f"“{PING}”" in unescape(swap.reply_text())
        # A team name from the setup file is text too: in the cover post and the swap DMs.
        await h.command("/cover", "2026-12-05", user="U0ALICE")
        await delivery_of(h).drain()  # the request's post, through the outbox
        (post,) = h.standin.messages("C0SUPPORT")
        assert "R&D <night> crew" in unescape(post.text + "\n".join(mrkdwn_texts(post.blocks)))
        await h.command("/swap", "<@U0BOB|bob> 2026-12-19 2026-12-12", user="U0ALICE")
        (ask,) = h.standin.dms("U0BOB")
        assert "R&D <night> crew" in unescape("\n".join(texts_of(vars(ask))))
        for sent in (cover, swap):
            assert markup_problems(sent.reply_text()) == []

        # A note typed in the /cover form is quoted in the channel as typed, markup and all.
        await h.command("/cover", user="U0ALICE")
        view = form(h, "U0ALICE")
        shift = shift_options(view)[0]["value"]
        answers = {Action.cover_shift: shift, Action.cover_note: f"Dinner {EVERYTHING}"}
        await h.submit(view, user="U0ALICE", answers=answers)
        await delivery_of(h).drain()
        noted = h.standin.messages("C0SUPPORT")[-1]
        assert f"> {escape(f'Dinner {EVERYTHING}')}" in "\n".join(mrkdwn_texts(noted.blocks))
        h.assert_all_valid()


# --- any string a sender sends -----------------------------------------------------------------

# Characters and pieces that matter to Slack, mixed with ordinary words.
PIECES = st.sampled_from(
    [*"<>&|@!#:/*_`~ ;\n\tabcXYZ09.-…é", "http://", "https://x.example/", "&amp;", "&lt;", "&gt;"]
    + ["<!channel>", "<!here>", "<@U0ALICE>", "<#C0SUPPORT>", "<https://evil.example|log in>"]
)
TEXT = st.lists(PIECES, max_size=24).map("".join)
WORDS = st.lists(PIECES, min_size=1, max_size=12).map("".join)
URLS = st.one_of(
    TEXT,
    st.sampled_from(
        ["https://ok.example/a?b=1&c=2", "https://x.example/|evil", "http://h.example/<x>"]
    ),
)


@pytest.fixture(scope="module")
def store() -> Iterator[tuple[Engine, Any]]:
    """A migrated SQLite database and the plan, shared by every example of a property test."""
    with tempfile.TemporaryDirectory() as folder:
        setup = Path(folder) / "oncall.yaml"
        setup.write_text(ESCAPING_PLAN)
        engine = make_engine(f"sqlite:///{folder}/wk.db")
        upgrade(engine)
        try:
            yield engine, PlanHolder.from_file(setup).current
        finally:
            engine.dispose()


def messages_of(engine: Engine, plan: Any, batch: ParsedBatch, integration: str) -> list[Message]:
    """The card, the DM and the leadership DM of the batch's first alert, as delivered."""
    now = FRIDAY_NIGHT + timedelta(seconds=len(batch.alerts))
    with session_scope(engine) as session:
        (alert_id, *_) = ingest_batch(
            session=session,
            services_or_plan=plan,
            integration=plan.integrations[integration],
            batch=batch,
            now=now,
        ).ids
    with read_scope(engine) as session:
        alert = alert_store.get_alerts(session=session, alert_ids=[alert_id])[alert_id]
        events = alert_store.timelines(session=session, alert_ids=[alert_id])[alert_id]
    card = _loaded(plan, alert, events, [], {}).card
    return [alert_card(card), alert_dm(card, "on call"), leadership_dm(card, "U0DAN", now)]


def assert_reads_as_sent(messages: Sequence[Message], *shown: str) -> None:
    """No markup but ours in any message, and each sender's text is there once unescaped."""
    for message in messages:
        texts = texts_of(message)
        for text in texts:
            assert markup_problems(text) == [], text
            mentions = set(re.findall(r"<@([A-Z0-9]+)>", text))
            assert mentions <= {"U0DAN"}, text  # only the one who escalated, from us
        readable = unescape("\n".join(texts))
        for value in shown:
            assert value in readable, value


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=WORDS,
    summary=TEXT,
    customer=TEXT,
    source=TEXT,
    label=st.tuples(WORDS, TEXT),
    detail=st.tuples(WORDS, TEXT),
    url=URLS,
    runbook=URLS,
)
def test_no_generic_alert_field_gets_markup_of_the_senders_into_slack(
    store: tuple[Engine, Any],
    title: str,
    summary: str,
    customer: str,
    source: str,
    label: tuple[str, str],
    detail: tuple[str, str],
    url: str,
    runbook: str,
) -> None:
    body = {
        "title": title,
        "summary": summary,
        "customer": customer,
        "source": source,
        "labels": {label[0]: label[1]},
        "details": {detail[0]: detail[1]},
        "link": url,
        "runbook_url": runbook,
        # Each example is an alert of its own, not a repeat of an earlier one in the database.
        "dedup_key": uuid.uuid4().hex,
    }
    try:
        batch = generic.parse(json.dumps(body).encode())
    except Exception:
        return  # refused with a 4xx: nothing reaches Slack
    (alert,) = batch.alerts
    engine, plan = store
    messages = messages_of(engine, plan, batch, "helpdesk")
    shown = [alert.title, alert.summary, alert.customer or "", alert.source or ""]
    # As the card shows them: the name and the value cut to fit, then escaped.
    shown += [f"{cut(name, 60)}={cut(value, 120)}" for name, value in alert.labels.items()]
    shown += [f"{cut(name, 80)}*: {cut(value, 250)}" for name, value in alert.details.items()]
    shown += [link.url for link in alert.links]
    assert_reads_as_sent(messages, *shown)
    for message in messages:
        # A link is made only of an http(s) URL without "|", "<" or ">".
        for target in re.findall(r"<(https?://[^|>]*)\|", "\n".join(texts_of(message))):
            assert unescape(target) in [link.url for link in alert.links] + [alert.runbook_url]
            assert "|" not in target


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(labels=st.dictionaries(WORDS, TEXT, max_size=3), summary=WORDS, description=TEXT)
def test_no_alertmanager_label_or_annotation_gets_markup_of_the_senders_into_slack(
    store: tuple[Engine, Any], labels: dict[str, str], summary: str, description: str
) -> None:
    body = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {**labels, "customer": description},
                "annotations": {"summary": summary, "description": description},
                "fingerprint": uuid.uuid4().hex,
            }
        ],
    }
    try:
        batch = alertmanager.parse(json.dumps(body).encode())
    except Exception:
        return
    (alert,) = batch.alerts
    engine, plan = store
    messages = messages_of(engine, plan, batch, "prometheus")
    shown = [alert.title, alert.summary, alert.customer or ""]
    shown += [f"{cut(name, 60)}={cut(value, 120)}" for name, value in alert.labels.items()]
    assert_reads_as_sent(messages, *shown)


# --- the pieces --------------------------------------------------------------------------------


@given(TEXT)
def test_unescaping_what_escape_writes_gives_the_text_back(text: str) -> None:
    escaped = escape(text)
    assert unescape(escaped) == text
    assert markup_problems(escaped) == []


@given(TEXT, st.integers(min_value=2, max_value=40))
def test_cutting_mrkdwn_never_splits_an_escape_or_one_of_our_links(text: str, limit: int) -> None:
    marked = escape(text) + link("https://a.example/?x=1&y=2", text) + escape(text)
    shortened = cut(marked, limit)
    assert len(shortened) <= limit
    assert markup_problems(shortened) == []
    assert marked.startswith(shortened.removesuffix("…"))


def test_a_url_that_is_not_http_or_carries_markup_is_shown_not_linked() -> None:
    assert link("https://a.example/x?a=1&b=2", "Logs") == "<https://a.example/x?a=1&amp;b=2|Logs>"
    assert link("javascript:alert(1)", "Logs") == "Logs (javascript:alert(1))"
    assert link("https://a.example/|x", "Logs") == "Logs (https://a.example/|x)"
    assert link("https://a.example/ x") == "https://a.example/ x"
    assert link("https://a.example/<!channel>", "<b>") == (
        "&lt;b&gt; (https://a.example/&lt;!channel&gt;)"
    )


def test_a_quote_keeps_a_picked_mention_and_escapes_the_rest() -> None:
    assert quoted("<@U0BOB|bob> <!channel> & <@U0AL|x<y>") == (
        "“<@U0BOB|bob> &lt;!channel&gt; &amp; &lt;@U0AL|x&lt;y&gt;”"
    )

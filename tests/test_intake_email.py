"""The email intake: mail sent with Python's own smtplib to the real listener, the cards read from
the Slack stand-in; and how a message is read (encodings, HTML, quoted replies, attachments)."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import AsyncIterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, func, select

from bot.plan.model import Integration
from handlers.intake.email import STORED, MailIntake
from handlers.intake.mail import cut_quoted, read_mail
from storage.models import Alert, AlertEvent, Outbox
from tests.harness import Harness, message_text, slack_harness
from tests.support.intake import Intake, running_intake, support_plan
from tests.support.relay import FRIDAY_NIGHT, PLAN, TOKENS
from tests.support.servers import free_port

MAIL_TOKEN = "mail-4be19c07a2"
SETUP = (
    PLAN
    + """\
  support-mail:
    kind: email
    team: support
    token_env: SUPPORT_MAIL_TOKEN
"""
)
TO = f"support-mail+{MAIL_TOKEN}@alerts.example.com"
CUSTOMER = "Ana Souza <ana@acme.example>"


@pytest.fixture
async def mailbox(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with its SMTP listener on a free port, workers running, Slack stood in."""
    env = {**TOKENS, "SUPPORT_MAIL_TOKEN": MAIL_TOKEN, "SMTP_PORT": str(free_port())}
    async with slack_harness(
        SETUP, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=env, start_background=True
    ) as harness:
        yield harness


def message(
    subject: str, body: str, *, sender: str = CUSTOMER, charset: str = "utf-8", **headers: str
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@acme-helpdesk.example"
    mail["Subject"] = subject
    headers.setdefault("Message_ID", make_msgid(domain="acme.example"))
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body, charset=charset)
    return mail


def send(h: Harness, mail: EmailMessage | bytes, *, to: str = TO) -> dict[str, Any]:
    """Send with smtplib, as a mail server would; smtplib's refusals for the recipients."""
    with smtplib.SMTP("127.0.0.1", h.settings.smtp_port or 0, timeout=30) as client:
        if isinstance(mail, bytes):
            return client.sendmail("ana@acme.example", [to], mail)
        return client.send_message(mail, to_addrs=[to])


async def sent(h: Harness, mail: EmailMessage | bytes, *, to: str = TO) -> None:
    await asyncio.to_thread(send, h, mail, to=to)


async def cards_shown(h: Harness, count: int) -> list[str]:
    """The texts of the team channel's cards, once there are ``count`` of them."""
    await h.standin.wait_for_async(lambda s: len(s.messages("C0SUPPORT")) >= count, timeout=15)
    return h.channel_texts("C0SUPPORT")


def stored(h: Harness) -> tuple[int, int, int]:
    with Session(h.services.engine) as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Alert, AlertEvent, Outbox)
        )


def alerts(h: Harness) -> list[Alert]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))))


async def test_a_new_mail_is_a_card_and_a_dm_to_the_pager_holder(mailbox: Harness) -> None:
    await sent(mailbox, message("Checkout is down", "Every payment fails with error 500.\n"))
    (card,) = await cards_shown(mailbox, 1)
    assert "Checkout is down" in card
    assert "Every payment fails with error 500." in card
    assert "Ana Souza" in card and "ana@acme.example" in card
    await mailbox.standin.wait_for_async(lambda s: len(s.dms("U0BOB")) == 1, timeout=15)
    (alert,) = alerts(mailbox)
    assert (alert.integration, alert.team, alert.customer) == ("support-mail", "support", CUSTOMER)


async def test_a_reply_updates_the_same_alert(mailbox: Harness) -> None:
    first = message("Checkout is down", "Every payment fails.", Message_ID="<a1@acme.example>")
    await sent(mailbox, first)
    await cards_shown(mailbox, 1)
    # By its ids; then a client that keeps none, by its subject (French and Portuguese forms).
    replies = [
        message(
            "Re: Checkout is down",
            "Still failing, now on mobile too.\n\nOn Fri, Nov 27, 2026 at 9:00 PM Support "
            "<support@acme-helpdesk.example> wrote:\n> We are looking into it.\n",
            Message_ID="<a3@acme.example>",
            In_Reply_To="<a2@helpdesk.example>",
            References="<a1@acme.example> <a2@helpdesk.example>",
        ),
        message("TR: Checkout is down", "Forwarding from our CTO: it is back."),
        message("RES: RES: Checkout is down", "Voltou a falhar."),
    ]
    for reply in replies:
        await sent(mailbox, reply)
    (alert,) = alerts(mailbox)
    assert alert.count == 4
    assert alert.title == "Checkout is down"
    assert alert.summary == "Voltou a falhar."
    # Repeats update the card at a bounded pace: a few seconds on.
    mailbox.clock.advance(timedelta(seconds=5))
    await mailbox.standin.wait_for_async(
        lambda s: "Voltou a falhar." in message_text(s.messages("C0SUPPORT")[0]), timeout=15
    )
    assert len(await cards_shown(mailbox, 1)) == 1


async def test_a_mail_with_another_subject_and_no_ids_is_another_alert(mailbox: Harness) -> None:
    await sent(mailbox, message("Checkout is down", "Every payment fails."))
    await sent(mailbox, message("Invoices are wrong", "The VAT is missing."))
    # The same words without Re: is a new thread too: a customer starting over.
    await sent(mailbox, message("Checkout is down", "Again, since 22:00."))
    mailbox.clock.advance(timedelta(seconds=5))  # the channel's pace lets the third card go
    assert len(await cards_shown(mailbox, 3)) == 3
    assert [a.count for a in alerts(mailbox)] == [1, 1, 1]


@pytest.mark.parametrize(
    "to",
    [
        "support-mail+mail-4be19c07a3@alerts.example.com",  # a wrong token
        "support-mail@alerts.example.com",  # no token
        "support-mail+@alerts.example.com",
        "helpdesk+mail-4be19c07a2@alerts.example.com",  # no such integration
        "prometheus+prom-3f9a0c1d@alerts.example.com",  # an integration that is not of kind email
    ],
)
async def test_a_wrong_or_missing_token_is_refused_at_rcpt(mailbox: Harness, to: str) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await sent(mailbox, message("Checkout is down", "Every payment fails."), to=to)
    ((code, words),) = refused.value.recipients.values()
    assert code == 550 and b"<integration>+<token>" in words
    assert stored(mailbox) == (0, 0, 0)


async def test_the_token_is_refused_before_the_message_is_sent(mailbox: Harness) -> None:
    port = mailbox.settings.smtp_port or 0

    def talk() -> tuple[int, int]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo()
            client.mail("ana@acme.example")
            wrong, _ = client.rcpt("support-mail+guess@alerts.example.com")
            data, _ = client.docmd("DATA")  # no recipient was accepted: nothing to send
            return wrong, data

    assert await asyncio.to_thread(talk) == (550, 503)
    assert stored(mailbox) == (0, 0, 0)


async def test_a_latin1_and_an_html_only_mail(mailbox: Harness) -> None:
    latin = message(
        "Problème de facturation",
        "Les factures de décembre sont fausses: la TVA à 20 % manque.",
        sender="Élodie Martin <elodie@client.example>",
        charset="latin-1",
    )
    raw = latin.as_bytes()
    assert "é".encode("latin-1") in raw or b"=E9" in raw  # Latin-1, not UTF-8
    await sent(mailbox, latin)
    html = EmailMessage()
    html["From"] = CUSTOMER
    html["Subject"] = "Painel fora do ar"
    html.set_content(
        "<html><body><p>O painel <b>não abre</b> desde às 21h.</p>"
        "<p>Erro: <code>502 &amp; timeout</code></p>"
        '<div class="gmail_quote">Em sex., 27 de nov. escreveu:<blockquote>Antigo</blockquote>'
        "</div></body></html>",
        subtype="html",
    )
    await sent(mailbox, html)
    texts = await cards_shown(mailbox, 2)
    assert "Problème de facturation" in texts[0]
    assert "la TVA à 20 % manque" in texts[0] and "Élodie Martin" in texts[0]
    assert "O painel não abre desde às 21h." in texts[1]
    assert "502 &amp; timeout" in texts[1]  # escaped for Slack
    assert "Antigo" not in texts[1] and "<b>" not in texts[1]


async def test_an_attachment_is_never_stored(mailbox: Harness) -> None:
    mail = message("Screenshot of the error", "See the screenshot.")
    mail.add_attachment(
        b"\x89PNG" + b"SECRET-PIXELS" * 1000, maintype="image", subtype="png", filename="error.png"
    )
    await sent(mailbox, mail)
    (card,) = await cards_shown(mailbox, 1)
    assert "See the screenshot." in card
    (alert,) = alerts(mailbox)
    row = str(alert.model_dump()) + str(alert.details)
    assert "SECRET-PIXELS" not in row and "iVBOR" not in row


async def test_an_oversized_mail_is_refused_and_nothing_stored(mailbox: Harness) -> None:
    mail = message("Huge logs", "log line\n" * (1_300_000))  # about 11.7 MB
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await sent(mailbox, mail)
    assert refused.value.smtp_code == 552
    assert stored(mailbox) == (0, 0, 0)
    # A client that does not say the size beforehand is refused at the end of DATA.
    port = mailbox.settings.smtp_port or 0

    def undeclared() -> int:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo()
            client.mail("ana@acme.example")  # without SIZE=
            client.rcpt(TO)
            code, _ = client.data(mail.as_bytes(policy=policy.SMTP))
            return code

    assert await asyncio.to_thread(undeclared) == 552
    assert stored(mailbox) == (0, 0, 0)
    # A small one right after is taken.
    await sent(mailbox, message("Huge logs", "Attached them to the ticket instead."))
    assert len(await cards_shown(mailbox, 1)) == 1


# --- how a message is read -----------------------------------------------------------------------


_READ_TABLE = [
    (  # quoted-printable Latin-1, an RFC 2047 subject
        b"From: =?iso-8859-1?q?=C9lodie?= <elodie@client.example>\r\n"
        b"Subject: =?iso-8859-1?q?Re=3A_Probl=E8me?=\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Toujours en panne =E0 22h.\r\n",
        "Problème",
        "Toujours en panne à 22h.",
        "Élodie <elodie@client.example>",
    ),
    (  # base64 UTF-8
        b"From: ops@client.example\r\nSubject: Fwd: Down\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"Q2Fpw6dhIGRlIGVudHJhZGEgY2hlaWEg4pyU\r\n",
        "Down",
        "Caiça de entrada cheia ✔",
        "ops@client.example",
    ),
    (  # an unknown charset, no subject, no sender header
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nplain \xe9t\xe9\r\n",
        "(no subject)",
        "plain été",
        "envelope@client.example",
    ),
    (  # multipart/alternative: the plain part wins
        b"From: a@b.example\r\nSubject: Both\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="xx"\r\n\r\n'
        b"--xx\r\nContent-Type: text/plain\r\n\r\nThe plain words\r\n"
        b"--xx\r\nContent-Type: text/html\r\n\r\n<p>The <i>html</i> words</p>\r\n--xx--\r\n",
        "Both",
        "The plain words",
        "a@b.example",
    ),
    (  # a PDF only: no text, the subject says it all
        b"From: a@b.example\r\nSubject: Invoice\r\nContent-Type: application/pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n",
        "Invoice",
        "",
        "a@b.example",
    ),
]


@pytest.mark.parametrize(("raw", "title", "text", "sender"), _READ_TABLE)
def test_a_message_is_read_in_its_encoding(raw: bytes, title: str, text: str, sender: str) -> None:
    mail = read_mail(raw, envelope_sender="envelope@client.example")
    assert (mail.title, mail.text, mail.sender) == (title, text, sender)


@pytest.mark.parametrize(
    ("body", "written"),
    [
        (
            "Still down.\n\nOn Fri, Nov 27, 2026 at 9:00 PM Support Team <\n"
            "support@acme-helpdesk.example> wrote:\n> We restarted it.\n> Bye\n",
            "Still down.",
        ),
        (
            "Toujours en panne.\n\nLe ven. 27 nov. 2026 à 21:00, Support <s@example.com> "
            "a écrit :\n> C'est réparé.\n",
            "Toujours en panne.",
        ),
        (
            "Continua parado.\n\nEm sex., 27 de nov. de 2026 às 21:00, Suporte "
            "<s@example.com> escreveu:\n> Resolvido.\n",
            "Continua parado.",
        ),
        (
            "Sigue caído.\n\nEl vie, 27 nov 2026 a las 21:00, Soporte (<s@example.com>) escribió:\n"
            "> Arreglado.\n",
            "Sigue caído.",
        ),
        (
            "Down again.\n\n________________________________\nFrom: Support <s@example.com>\n"
            "Sent: Friday, November 27, 2026 9:00 PM\nTo: Ana\nSubject: RE: Down\n\nFixed.\n",
            "Down again.",
        ),
        (
            "Down again.\n\n-----Original Message-----\nFrom: Support\nSent: Friday\n\nFixed.\n",
            "Down again.",
        ),
        (  # an answer written between the quoted lines keeps its own lines
            "> Is it the EU region?\nYes, only the EU.\n> Since when?\nSince 21:00.\n",
            "Yes, only the EU.\nSince 21:00.",
        ),
        ("> only a quote, nothing else\n", "> only a quote, nothing else"),
        ("On call tonight we saw:\n500 errors\n", "On call tonight we saw:\n500 errors"),
    ],
)
def test_quoted_replies_are_cut(body: str, written: str) -> None:
    assert cut_quoted(body) == written


# --- anything at all, into the handler ---------------------------------------------------------

SAMPLES = [
    raw
    for raw, *_ in _READ_TABLE  # the messages read above, byte for byte
] + [
    message("Checkout is down", "Every payment fails.\n\nOn Fri wrote:\n> old\n").as_bytes(),
    message(
        "Re: Checkout is down",
        "Again",
        In_Reply_To="<a1@acme.example>",
        References="<a0@acme.example> <a1@acme.example>",
    ).as_bytes(),
]
HEADER_NAMES = [
    "From",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "Content-Disposition",
]
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)


@st.composite
def raw_mail(draw: st.DrawFn) -> bytes:
    """Bytes a mail server might hand over: a real message broken somewhere, headers of any
    text, or any bytes at all."""
    choice = draw(st.integers(0, 2))
    if choice == 0:
        raw = bytearray(draw(st.sampled_from(SAMPLES)))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(raw)))
            cut = draw(st.integers(0, 20))
            raw[at : at + cut] = draw(st.binary(max_size=20))
        return bytes(raw)
    if choice == 1:
        headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), TEXT), max_size=8))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers)
        body = draw(st.binary(max_size=200))
        return head.encode("utf-8", "surrogatepass") + b"\r\n" + body
    return draw(st.binary(max_size=400))


@pytest.fixture
async def mail_intake(database_url: str) -> AsyncIterator[Intake]:
    """The app on each database, with an email integration (no listener: the handler is fed)."""
    plan = support_plan()
    mail = Integration("support-mail", "email", "support", "SUPPORT_MAIL_TOKEN")
    plan = dataclasses.replace(plan, integrations={**plan.integrations, mail.id: mail})
    env = {"SUPPORT_MAIL_TOKEN": MAIL_TOKEN}
    async with running_intake(database_url, plan=plan, env=env) as running:
        yield running


def whole(intake: Intake) -> list[str]:
    """The alerts stored without their timeline's first line or their delivery, if any."""
    with Session(intake.services.engine) as session:
        halves = []
        for alert in session.exec(select(Alert)):
            events = session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
            queued = session.exec(select(Outbox).where(Outbox.subject == f"alert:{alert.id}")).all()
            if not events or not queued:
                halves.append(f"alert {alert.id}: {len(events)} events, {len(queued)} deliveries")
        return halves


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_mail_crashes_the_handler_or_half_stores_an_alert(
    mail_intake: Intake, data: st.DataObject
) -> None:
    raw = data.draw(raw_mail(), label="raw")
    sender = data.draw(st.none() | st.just("ana@acme.example"), label="envelope sender")
    received = sum(a.count for a in mail_intake.alerts())
    answer = await MailIntake(mail_intake.services).receive(raw, [TO], sender=sender)
    assert answer == STORED
    # Stored once: a new alert, or a repeat of its thread's.
    assert sum(a.count for a in mail_intake.alerts()) == received + 1
    assert whole(mail_intake) == []
    (alert, *_) = sorted(mail_intake.alerts(), key=lambda a: a.last_seen, reverse=True)
    assert alert.title and alert.dedup_key.startswith("mail:")


async def test_an_email_integration_says_it_takes_no_http(mail_intake: Intake) -> None:
    answer = await mail_intake.post("support-mail", b'{"title": "x"}', token=MAIL_TOKEN)
    assert answer.status_code == 400
    assert "SMTP" in answer.json()["error"]
    assert mail_intake.counts() == (0, 0, 0)

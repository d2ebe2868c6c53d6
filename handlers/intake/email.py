"""The email intake: an SMTP listener (aiosmtpd) on ``SMTP_PORT``, started with the app.

Mail to ``<integration>+<token>@<any domain>``, for an integration of kind ``email``, becomes an
alert of its team; a reply (by its ids, or by its subject after Re:/Fwd:/TR:/RES:) updates the
thread's open alert. A recipient without the integration's token is refused at ``RCPT`` (550),
before any of the message is sent; a message is answered ``250`` only once its alert is
committed, ``451`` (try again later) when our side cannot store it now.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.alerts.model import IntakeError, ParsedBatch
from bot.plan.model import Integration
from handlers.intake.http import Unavailable, same_secret, store_batch
from handlers.intake.mail import KEY_PREFIX, KIND, Mail, read_mail
from storage.alerts import open_key_among, open_key_titled
from storage.db import read_scope

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

# Larger messages are refused (552) before they are read whole: an alert needs the text, and
# attachments are never kept.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
HOSTNAME = "watchkeeper"
REFUSED = "550 5.1.1 No such mailbox here: send to <integration>+<token>@ this host"
STORED = "250 2.0.0 OK: alert stored"
TRY_LATER = "451 4.3.0 Cannot store the alert right now; try again later"
UNREADABLE = "554 5.6.0 The message could not be made into an alert"


class MailListener:
    """The SMTP server, on the app's event loop."""

    def __init__(self, services: Services, host: str, port: int) -> None:
        self.handler = MailIntake(services)
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=self.host, port=self.port)
        logger.info("email intake listening", extra={"host": self.host, "port": self.port})

    def _protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            hostname=HOSTNAME,  # not the machine's name, which would ask the DNS each time
            ident="Watchkeeper email intake",
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class MailIntake:
    """aiosmtpd's handler: who may be written to (RCPT), and what a message becomes (DATA)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        integration = self.recipient(address)
        if integration is None:
            logger.warning(
                "email intake: recipient refused",
                extra={"integration": _mailbox(address), "client": _peer(session)},
            )
            return REFUSED
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        sender = envelope.mail_from if envelope.mail_from not in (None, "", "<>") else None
        return await self.receive(raw, envelope.rcpt_tos, sender=sender)

    async def receive(self, raw: bytes, recipients: list[str], *, sender: str | None) -> str:
        """Store the message for each integration it was addressed to; the SMTP answer."""
        integrations = {i.id: i for r in recipients if (i := self.recipient(r)) is not None}
        if not integrations:
            return REFUSED  # the setup changed between RCPT and DATA
        try:
            mail = read_mail(raw, envelope_sender=sender)
            for integration in integrations.values():
                await self.store(integration, mail)
        except Unavailable as error:
            logger.warning("email intake: not stored", extra={"why": str(error)})
            return TRY_LATER
        except (IntakeError, ValueError):
            logger.exception("email intake: message refused")
            return UNREADABLE
        except Exception:
            # A fault of ours: the sender's server keeps the mail and tries again, so it is not
            # lost while the fault lasts.
            logger.exception("email intake: failed")
            return TRY_LATER
        return STORED

    def recipient(self, address: str) -> Integration | None:
        """The email integration that ``<integration>+<token>@…`` names with its right token."""
        local = address.rpartition("@")[0] if "@" in address else address
        name, plus, token = local.partition("+")
        if not plus or not token:
            return None
        integration = self.services.plans.current.integrations.get(name.lower())
        if integration is None or integration.kind != KIND:
            return None
        expected = self.services.settings.secret(integration.token_env)
        if expected is None or not same_secret(token, expected):
            return None
        return integration

    async def store(self, integration: Integration, mail: Mail) -> None:
        """The mail as an alert of the integration's thread, committed (Unavailable if not)."""
        try:
            key = await self.services.in_database(_thread_key, self.services, integration, mail)
        except Exception as error:  # the database away: the sender's server will try again
            raise Unavailable(f"the database is unavailable ({error.__class__.__name__})") from None
        batch = ParsedBatch(kind=KIND, alerts=[mail.alert(key)])
        await store_batch(self.services, integration, batch)


def _thread_key(services: Services, integration: Integration, mail: Mail) -> str:
    """The dedup key of the thread the mail belongs to: an open alert's that one of its ids
    (or, for a Re:/Fwd:, its subject) names, else a new thread's."""
    with read_scope(services.engine) as session:
        team = integration.team
        found = open_key_among(session=session, team=team, keys=mail.key_candidates())
        if found is None and mail.is_reply:
            found = open_key_titled(
                session=session,
                team=team,
                integration=integration.id,
                title=mail.title,
                key_prefix=KEY_PREFIX,
            )
    return found or mail.new_key()


def _mailbox(address: str) -> str:
    """The integration part of a recipient, for the log (never the token)."""
    return address.partition("+")[0].partition("@")[0][:64]


def _peer(session: Any) -> str | None:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else None

"""Reading an email as an alert: subject, sender, the text the sender wrote (quoted replies cut,
HTML turned to text), and the ids that tie a reply to its thread. Attachments are never read.

Mail is whatever a client sent, in any charset or transfer encoding, sometimes broken: reading
never fails; what cannot be decoded is replaced, what is missing is said plainly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from bs4 import BeautifulSoup

from bot.alerts.model import (
    KEY_LIMIT,
    TITLE_LIMIT,
    NormalizedAlert,
    bounded_key,
    clean_text,
)

KIND = "email"
NO_SUBJECT = "(no subject)"
# The dedup key of a thread: its first message's id.
KEY_PREFIX = "mail:"

# "Re:", "Fwd:", and their French and Portuguese forms (TR: transférer, RES: responder), with
# Outlook's "Fw:" and counters such as "Re[2]:", any number of them in a row.
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|tr|res)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")

# Where the quoted message begins in a reply, in English, French, Portuguese, Spanish, German
# (the reply parsers on PyPI know no Portuguese, one of the three languages the bot speaks).
_QUOTE_HEADERS = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^on\b.{0,300}\bwrote\s*:$",
        r"^le\b.{0,300}\ba\s+[ée]crit\s*:$",
        r"^em\b.{0,300}\bescreveu\s*:$",
        r"^el\b.{0,300}\bescribi[óo]\s*:$",
        r"^am\b.{0,300}\bschrieb\b.{0,300}:$",
        r"^-{2,}\s*(?:original message|message d'origine|mensagem original|mensaje original"
        r"|urspr[üu]ngliche nachricht)\s*-{2,}$",
        r"^_{20,}$",  # Outlook's rule above the quoted message's headers
    )
]
# Outlook quotes without a "wrote": a block of From:, Sent:/Date:, To:, Subject: lines.
_FROM_LINE = re.compile(r"^\*?(?:from|de|von)\s*:\*?\s", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\*?(?:sent|date|envoy[ée]|enviado|enviada|data|fecha|gesendet|datum)\s*:\*?\s", re.IGNORECASE
)


@dataclass(frozen=True)
class Mail:
    """What the alert takes of one email."""

    subject: str  # as sent, decoded
    title: str  # the subject without Re:/Fwd:/TR:/RES:, as an alert title
    is_reply: bool  # the subject said Re:, Fwd:, TR: or RES:
    text: str  # what the sender wrote, quoted replies cut
    sender: str | None  # "Name <address>", or the address
    message_id: str | None
    thread_ids: tuple[str, ...]  # References, then In-Reply-To: the thread, oldest first
    fingerprint: str  # of the whole message: the same message sent twice is one

    def key_candidates(self) -> list[str]:
        """The dedup keys the thread's alert may have: one per id of the thread, oldest first."""
        return [thread_key(i) for i in (*self.thread_ids, *filter(None, [self.message_id]))]

    def new_key(self) -> str:
        """The dedup key of a thread that starts here: its oldest known message's id."""
        first = next(iter(self.thread_ids), None) or self.message_id
        # Without ids (mail servers add one), the same message sent again is the same thread.
        return thread_key(first or self.fingerprint)

    def alert(self, dedup_key: str) -> NormalizedAlert:
        """The alert of this mail, in the thread ``dedup_key``."""
        return NormalizedAlert(
            dedup_key=dedup_key,
            title=self.title,
            summary=self.text,
            customer=self.sender,
            source="email",
            raw_kind=KIND,
        )


def thread_key(message_id: str) -> str:
    """The dedup key of the thread whose first message has this id."""
    return bounded_key(KEY_PREFIX + message_id, KEY_LIMIT)


def read_mail(raw: bytes, *, envelope_sender: str | None = None) -> Mail:
    """The alert's view of a raw RFC 5322 message (never fails)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    subject = " ".join(_header(message, "subject").split())
    title = clean_text(_REPLY_PREFIX.sub("", subject), TITLE_LIMIT, one_line=True)
    references = _ids(_header(message, "references"))
    in_reply_to = _ids(_header(message, "in-reply-to"))
    thread = tuple(dict.fromkeys([*references, *in_reply_to]))
    own = _ids(_header(message, "message-id"))
    return Mail(
        subject=subject,
        title=title or NO_SUBJECT,
        is_reply=bool(_REPLY_PREFIX.match(subject)),
        text=_written_text(message),
        sender=_sender(message) or envelope_sender or None,
        message_id=own[0] if own else None,
        thread_ids=thread,
        fingerprint=hashlib.sha256(raw).hexdigest()[:32],
    )


def _header(message: Message, name: str) -> str:
    """A header's decoded value ("" when absent); a header too broken to parse, as it came."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # the header parser's errors on broken input are of many kinds
        raw = message.get_all(name, []) if hasattr(message, "get_all") else []
        return str(raw[0]) if raw else ""


def _ids(value: str) -> list[str]:
    """The message ids of a References or In-Reply-To header, in order."""
    found = _MESSAGE_ID.findall(value)
    if not found and value.strip() and len(value.split()) == 1:
        found = [value.strip()]  # an id written without its angle brackets
    return [i for i in found if len(i) <= 998]


def _sender(message: Message) -> str | None:
    """The sender as the card shows the customer: "Name <address>", or the address."""
    try:
        header = message.get("from")
        addresses = getattr(header, "addresses", None)
        if addresses:
            first: Address = addresses[0]
            if first.addr_spec or first.display_name:
                name, spec = first.display_name, first.addr_spec
                return f"{name} <{spec}>" if name and spec else (spec or name)
        pairs = getaddresses([str(header)]) if header is not None else []
    except Exception:  # a From header the parser cannot read
        pairs = []
    for name, spec in pairs:
        if spec or name:
            return f"{name} <{spec}>" if name and spec else (spec or name)
    return None


def _written_text(message: Message) -> str:
    """The plain text the sender wrote: the text part, else the HTML one as text; quotes cut."""
    try:
        part = (
            message.get_body(preferencelist=("plain", "html"))
            if isinstance(message, EmailMessage)
            else None
        )
    except Exception:  # a broken multipart structure
        part = None
    if part is None:
        return ""
    text = _decoded(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return cut_quoted(text)


def _decoded(part: Message) -> str:
    """A text part's content, its transfer encoding and charset undone (unknown bytes replaced)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: UTF-8 when it is, else Latin-1
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")


_BLOCKS = ["p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"]


def html_to_text(html: str) -> str:
    """The text an HTML mail shows, without its quoted replies, one block per line."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["head", "script", "style", "title"]):
        hidden.decompose()
    # Gmail, Apple Mail, Thunderbird put the quoted message in a blockquote; Gmail and Outlook
    # mark where it begins.
    for quoted in soup.select("blockquote, .gmail_quote, #divRplyFwdMsg, #appendonsend"):
        quoted.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def cut_quoted(text: str) -> str:
    """The text without the message it replies to: from the "On … wrote:" line (or Outlook's
    headers) on, and every "> " line. All of it when nothing else would be left."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for n, line in enumerate(lines):
        stripped = line.strip()
        # Clients wrap a long "On … wrote:" over two or three lines.
        wrapped = [" ".join(x.strip() for x in lines[n : n + k]) for k in (1, 2, 3)]
        if any(header.match(w) for header in _QUOTE_HEADERS for w in wrapped):
            break
        following = lines[n + 1 : n + 3]
        if _FROM_LINE.match(stripped) and any(_SENT_LINE.match(x.strip()) for x in following):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    written = "\n".join(kept).strip()
    return written or text.strip()

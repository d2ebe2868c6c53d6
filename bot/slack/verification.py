"""Whether a request to /slack/events is Slack's: signed with our secret, fresh, and new.

Slack signs every request it sends (`X-Slack-Signature`: HMAC-SHA256 of `v0:<timestamp>:<body>`)
and stamps it (`X-Slack-Request-Timestamp`). A request is taken only when its signature is ours,
its stamp is within five minutes of our clock, and no request with the same signature was taken
before: a captured request sent again later is stale, and sent again at once is a replay.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Slack's own rule: a request stamped more than five minutes from now is refused.
FRESHNESS_S = 5 * 60
# Signatures remembered at most. Slack sends an app at most 30,000 events an hour per workspace,
# and a signature is kept ten minutes at most (its stamp may be five minutes ahead of us); past
# this many the oldest are forgotten first, which only reopens their replay for what is left of
# their five minutes.
SEEN_MAX = 20_000


@dataclass(frozen=True)
class Refusal:
    """Why a request is not taken as Slack's: said in the log and in the 401's body."""

    reason: str
    age_s: int | None = None


class SeenSignatures:
    """The signatures of requests already taken, each kept until its stamp is too old to pass.

    One process keeps its own: replicas behind a load balancer each remember what they took, so
    a replay sent to another replica within the five minutes is not caught there. Slack's own
    retries are no replays: Slack signs each delivery anew, with its own stamp, and a retried
    event is handled once per event_id (handlers.events).
    """

    def __init__(self, capacity: int = SEEN_MAX) -> None:
        self.capacity = capacity
        self._expiry: dict[str, float] = {}
        self._by_expiry: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, signature: str, *, expires: float, now: float) -> bool:
        """Remember ``signature`` until ``expires``; False when it is remembered already."""
        self._forget_until(now)
        if signature in self._expiry:
            return False
        while len(self._expiry) >= self.capacity:
            self._pop_oldest()
        self._expiry[signature] = expires
        heapq.heappush(self._by_expiry, (expires, signature))
        return True

    def discard(self, signature: str) -> None:
        """Forget ``signature``: the request it signed was not taken after all."""
        self._expiry.pop(signature, None)

    def _forget_until(self, now: float) -> None:
        while self._by_expiry and self._by_expiry[0][0] < now:
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        expires, signature = heapq.heappop(self._by_expiry)
        # A discarded signature may have been added again since, with another expiry.
        if self._expiry.get(signature) == expires:
            del self._expiry[signature]


class SlackRequestVerifier:
    """Checks the signature, the age and the novelty of requests claiming to come from Slack.

    The age is measured on the machine's real clock (``wall``), the one Slack's stamp is compared
    with, not the bot's clock, which tests set to a chosen instant.
    """

    def __init__(
        self,
        signing_secret: str,
        *,
        wall: Callable[[], float] = time.time,
        seen: SeenSignatures | None = None,
    ) -> None:
        self._secret = signing_secret.encode()
        self._wall = wall
        self.seen = seen or SeenSignatures()

    def check(self, body: bytes, headers: Mapping[str, str]) -> Refusal | None:
        """Why the request is not Slack's, or None when it is (and is now remembered as taken)."""
        if not self._secret:
            return Refusal("SLACK_SIGNING_SECRET is not set, so no request can be verified")
        lowered = {name.lower(): value for name, value in headers.items()}
        stamp = lowered.get("x-slack-request-timestamp")
        signature = lowered.get("x-slack-signature")
        if not stamp or not signature:
            return Refusal("the request is not signed (no X-Slack-Signature or timestamp)")
        try:
            sent_at = int(stamp)
        except ValueError:
            return Refusal("the X-Slack-Request-Timestamp header is not a number of seconds")
        expected = self.signature(body, stamp)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return Refusal("the signature does not match the body and the signing secret")
        now = self._wall()
        age = int(now - sent_at)
        if abs(age) > FRESHNESS_S:
            return Refusal("the request is stamped more than five minutes from now", age)
        if not self.seen.add(signature, expires=sent_at + FRESHNESS_S, now=now):
            return Refusal("a request with this signature was already received", age)
        return None

    def forget(self, headers: Mapping[str, str]) -> None:
        """Let a request that failed on our side be taken again, should Slack send it again."""
        for name, value in headers.items():
            if name.lower() == "x-slack-signature":
                self.seen.discard(value)

    def signature(self, body: bytes, stamp: str) -> str:
        """Slack's signature of ``body`` sent at ``stamp``: `v0=` and a hex HMAC-SHA256."""
        base = b"v0:" + stamp.encode() + b":" + body
        return "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()

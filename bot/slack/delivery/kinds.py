"""What the delivery worker does in Slack for each kind of outbox row: an alert's card and the
DMs of the people it pages, the DMs of an escalation to leadership, a cover request's channel post,
a plain post or DM, and a roll-up.

An alert's messages are posted once and then updated in place (``chat.update``); a card updated a
moment ago waits its turn, so a storm of repeats costs a bounded number of calls, and the posts of
one channel keep to Slack's posting pace (``bot.slack.gateway``). An alert's card and its DMs are
delivered step by step: a card that cannot be posted, or waits its turn, holds up none of its DMs.
A 429 postpones a step until its Retry-After, and counts as no failure; an error the bot cannot
mend by trying again (not a member of the channel, an archived one, blocks Slack refuses) ends the
delivery at once as failed (``bot.slack.delivery.queue`` records what is wrong).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.alerts.model import Severity
from bot.i18n import speaking
from bot.schedule.covers import cover_id_of, withdraw
from bot.slack.blocks import Message
from bot.slack.blocks.alert import alert_card, alert_dm, content_hash, leadership_dm, steady
from bot.slack.blocks.cover import cover_post, cover_withdrawn_notice
from bot.slack.blocks.problems import problem_notice
from bot.slack.blocks.rollup import rollup_message
from bot.slack.delivery.content import (
    CARD,
    DM,
    LEADERSHIP,
    POST,
    ROLLUP,
    _Loaded,
    full_hash,
    load_cover,
    load_rollup,
)
from bot.slack.delivery.flood import FloodWatch, Newcomer
from bot.slack.delivery.jobs import Job, Outcome, Postpone, Refusal, RetryLater, merged
from bot.slack.delivery.posting import Posting, post_metadata
from bot.slack.errors import Kind, Problem
from bot.slack.gateway import SlackCallError
from bot.slack.language import person_language, team_language
from storage import outbox, rollups
from storage.models import SlackMessage

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

# Slack takes about one message a second per channel, with short bursts: a card is updated at
# most this often, whatever the storm of repeats behind it.
CARD_INTERVAL = timedelta(seconds=2)
DM_INTERVAL = timedelta(seconds=10)
# A roll-up is updated at most this often (chat.update is Tier 3: about 50 a minute for the whole
# workspace).
ROLLUP_INTERVAL = timedelta(seconds=2)
# What a refusal of these says about the channel itself, whatever is posted there.
CHANNEL_PROBLEMS = frozenset(
    {Problem.not_member, Problem.unknown_channel, Problem.archived, Problem.restricted}
)


class Kinds:
    """Delivers one claimed row of any kind; what became of it is its Outcome."""

    def __init__(
        self, services: Services, posting: Posting, flood: FloodWatch, card_interval: timedelta
    ) -> None:
        self.services = services
        self.posting = posting
        self.flood = flood
        self.card_interval = card_interval

    async def handle(self, job: Job) -> Outcome:
        """Deliver one row as its kind says; what became of it."""
        deliver = {
            outbox.ALERT_SYNC: self._sync,
            outbox.ALERT_NOTIFY: self._notify,
            outbox.ALERT_LEADERSHIP: self._leadership,
            outbox.SLACK_POST: self._plain_post,
            outbox.COVER_SYNC: self._cover,
            outbox.ROLLUP_SYNC: self._rollup,
        }.get(job.kind)
        if deliver is None:
            logger.error("outbox row of an unknown kind left as done", extra={"kind": job.kind})
            return None
        return await deliver(job)

    async def _step(
        self, job: Job, work: Awaitable[Postpone | None], target: str | None, team: str | None
    ) -> Outcome:
        """One part of a delivery (the card, one DM), its failure kept apart from the others':
        a refusal is noted on the job and the other parts go on."""
        try:
            return await work
        except SlackCallError as failed:
            failure = failed.failure
            if failure.kind is Kind.rate_limited:
                assert failed.until is not None
                return Postpone(failed.until)
            if failure.kind is Kind.permanent and target is not None:
                job.refusals.append(Refusal(failure, target, team))
                if failure.problem in CHANNEL_PROBLEMS and failure.method != "conversations.open":
                    self.posting.refuse(target, failure)
                return None
            return RetryLater(
                None,
                str(failure),
                may_have_posted=failure.may_have_succeeded and failure.method == "chat.postMessage",
                unknown=failure.kind is not Kind.transient,
            )

    async def _sync(self, job: Job) -> Outcome:
        """Bring every message of the alert up to date, each on its own (a card that cannot be
        posted holds up none of its DMs); post the card if it has none yet."""
        loaded = self._load(job)
        if loaded is None:
            return None
        job.touched.update(loaded.rollups)  # they show its state
        now = self.services.clock.now()
        outcomes = [
            await self._step(job, self._sync_card(job, loaded, now), loaded.channel, loaded.team)
        ]
        # A DM follows a change of state at once, and a storm of sightings every DM_INTERVAL:
        # Slack's budget goes to the card the whole team looks at.
        card, calm = loaded.card, steady(loaded.card)
        waiting = False
        for row in loaded.messages:
            if row.role == DM:
                reason = loaded.reasons.get(row.recipient)
                leader = row.recipient in loaded.leaders
                with speaking(await self._language(row.recipient, loaded.team)):
                    work = self.posting.update(
                        job,
                        row,
                        alert_dm(card, reason, to_leader=leader),
                        alert_dm(calm, reason, to_leader=leader),
                        DM_INTERVAL,
                    )
            elif row.role == LEADERSHIP and card.leadership_at is not None:
                by, at = card.leadership_by, card.leadership_at
                with speaking(await self._language(row.recipient, loaded.team)):
                    work = self.posting.update(
                        job,
                        row,
                        leadership_dm(card, by, at),
                        leadership_dm(calm, by, at),
                        DM_INTERVAL,
                    )
            else:
                continue
            outcome = await self._step(job, work, row.recipient, loaded.team)
            waiting = waiting or isinstance(outcome, Postpone)
            outcomes.append(outcome)
        if waiting:
            # Come back for the card too if more repeats arrive meanwhile (they fold into this
            # row while it waits).
            outcomes.append(Postpone(now + self.card_interval))
        return merged(outcomes)

    async def _sync_card(self, job: Job, loaded: _Loaded, now: datetime) -> Postpone | None:
        """Post the alert's card, or bring it up to date, in its channel's turn."""
        card_row = next((m for m in loaded.messages if m.role == CARD), None)
        if card_row is not None:
            last = card_row.updated_at or card_row.created_at
            if now < last + self.card_interval:
                return Postpone(last + self.card_interval)
        with speaking(team_language(self.services.plans.current.teams.get(loaded.team))):
            card_message = alert_card(loaded.card)
        if card_row is None:
            if loaded.channel is None:
                logger.error(
                    "alert's team is no longer in the setup file: no card posted",
                    extra={"alert": loaded.card.id, "team": loaded.team},
                )
                return None
            if loaded.in_channel_rollup:
                return None  # shown by its roll-up, brought up to date with the job's outcome
            self.posting.check("chat.postMessage", loaded.channel, now)
            # A card an earlier try posted is not rolled up as well; it is brought up to date
            # in its next turn if the alert changed since.
            if await self.posting.earlier_post(
                job, CARD, loaded.channel, loaded.channel, card_message
            ):
                if full_hash(job.posts[-1].content_hash) != content_hash(card_message):
                    return Postpone(now + self.card_interval)
                return None
            if loaded.syncs_in_doubt - {job.id}:
                # Another sync of the alert may have posted the card, its answer lost: that row
                # looks for its post when tried again (only it can tell it by its id), and this
                # one brings the card up to date after, as a roll-up's later rows do.
                return Postpone(now + self.card_interval)
            return await self._first_post(
                job,
                loaded,
                rollups.CHANNEL,
                CARD,
                loaded.channel,
                loaded.channel,
                card_message,
                now,
            )
        return await self.posting.update_in_turn(job, card_row, card_message, now)

    async def _notify(self, job: Job) -> Outcome:
        """DM the paged user the alert (once; a second page updates the same DM)."""
        user = str(job.payload.get("user") or "")
        reason = job.payload.get("reason") or None
        loaded = self._load(job)
        if loaded is None or not user:
            return None
        with speaking(await self._language(user, loaded.team)):
            content = alert_dm(loaded.card, reason, to_leader=user in loaded.leaders)
        existing = next((m for m in loaded.messages if m.role == DM and m.recipient == user), None)
        if existing is not None:
            return await self._step(
                job, self.posting.update(job, existing, content), user, loaded.team
            )
        return await self._step(job, self._first_dm(job, loaded, user, content), user, loaded.team)

    async def _first_dm(
        self, job: Job, loaded: _Loaded, user: str, content: Message
    ) -> Postpone | None:
        """DM a page in the DM's turn; a page that waits among many folds into the user's
        roll-up DM instead."""
        channel = await self.posting.dm_channel(user)
        now = self.services.clock.now()
        self.posting.check("chat.postMessage", channel, now)
        if await self.posting.earlier_post(job, DM, user, channel, content):
            return None
        return await self._first_post(job, loaded, rollups.DM, DM, user, channel, content, now)

    async def _first_post(
        self,
        job: Job,
        loaded: _Loaded,
        kind: str,
        role: str,
        target: str,
        channel: str,
        content: Message,
        now: datetime,
    ) -> Postpone | None:
        """Post a new alert's first message to ``target`` (in ``channel``) in its turn; one that
        waits among many, or comes during a flood, joins the roll-up of ``target`` instead."""
        new = Newcomer(job, kind, target, channel, loaded.card.severity == Severity.critical)
        if self.flood.flooded(new, now):
            return None
        ready_at = await self.posting.turn(channel, now)
        if ready_at is not None:
            return self.flood.wait_or_join(new, ready_at, now)
        await self.posting.post_once(job, loaded.team, role, target, channel, content)
        self.flood.served(new)
        return None

    async def _leadership(self, job: Job) -> Outcome:
        """DM each leader the alert with who escalated it and when (each once)."""
        loaded = self._load(job)
        if loaded is None:
            return None
        by = job.payload.get("by")
        at = _instant(job.payload.get("at")) or loaded.card.leadership_at or job.created_at
        done = {m.recipient for m in loaded.messages if m.role == LEADERSHIP}
        outcomes = []
        for user in _strings(job.payload.get("users")):
            if user in done:
                continue
            with speaking(await self._language(user, loaded.team)):
                content = leadership_dm(loaded.card, str(by) if by else None, at)
            outcomes.append(
                await self._step(
                    job,
                    self.posting.dm_once(job, loaded.team, LEADERSHIP, user, content),
                    user,
                    loaded.team,
                )
            )
        return merged(outcomes)

    async def _language(self, user: str, team: str) -> str:
        """The language ``user`` reads the alert of ``team`` in."""
        return await person_language(
            self.services, user, self.services.plans.current.teams.get(team)
        )

    async def _cover(self, job: Job) -> Outcome:
        """Post a cover request in its team's channel, or bring the post up to date; a request
        Slack refuses to post is withdrawn, and its requester told."""
        cover_id = cover_id_of(job.subject)
        if cover_id is None:
            logger.error("cover delivery without a cover request", extra={"outbox": job.id})
            return None
        cover, posted = await self.services.in_database(load_cover, self.services, cover_id)
        team = self.services.plans.current.teams.get(cover.team) if cover else None
        if cover is None or team is None:
            logger.error(
                "cover delivery for a request or team that is gone", extra={"outbox": job.id}
            )
            return None
        with speaking(team_language(team)):
            content = cover_post(cover, team, str(job.payload.get("reason") or ""))
        work = self._sync_post(job, team.id, team.channel, posted, content, cover.status == "open")
        outcome = await self._step(job, work, team.channel, team.id)
        if posted is None and job.refusals:
            with speaking(await person_language(self.services, cover.requester, team)):
                notice = cover_withdrawn_notice(cover, team, job.refusals[-1].failure.code)
            now = self.services.clock.now()
            await self.services.in_database(withdraw, self.services.engine, cover_id, notice, now)
        return outcome

    async def _sync_post(
        self,
        job: Job,
        team: str,
        channel: str,
        posted: SlackMessage | None,
        content: Message,
        wanted: bool,
    ) -> Postpone | None:
        """Post ``content`` in ``channel`` in its turn if it is ``wanted`` and not posted yet,
        or update the post to show it."""
        now = self.services.clock.now()
        if posted is None:
            if not wanted:
                return None
            waiting = await self.posting.in_turn("chat.postMessage", channel, now)
            if waiting is not None:
                return waiting
            await self.posting.post_once(job, team, POST, channel, channel, content)
            return None
        return await self.posting.update_in_turn(job, posted, content, now)

    async def _plain_post(self, job: Job) -> Outcome:
        """Post the row's text and blocks to its channel, or DM them to its user."""
        user = str(job.payload.get("user") or "")
        target = user or str(job.payload.get("channel") or "")
        team = job.payload.get("team")
        if not target:
            logger.error("outbox post without a channel left as done", extra={"outbox": job.id})
            return None
        content = await self._plain_content(job.payload, user, team and str(team))
        if content is None:
            logger.error(
                "outbox notice of an unknown problem left as done", extra={"outbox": job.id}
            )
            return None
        return await self._step(
            job, self._post_plain(job, target, bool(user), content), target, team and str(team)
        )

    async def _plain_content(
        self, payload: dict[str, Any], user: str, team: str | None
    ) -> Message | None:
        """What a plain post says: its text and blocks, or a problem notice worded now in its
        reader's language; None for a notice of a problem there is nothing to say about."""
        notice = payload.get("notice")
        if not isinstance(notice, dict):
            return Message(
                text=str(payload.get("text") or ""), blocks=list(payload.get("blocks") or [])
            )
        try:
            problem = Problem(str(notice.get("problem")))
        except ValueError:
            return None
        with speaking(await self._language(user, team or "") if user else None):
            return problem_notice(
                problem,
                str(notice.get("target") or ""),
                str(notice.get("team_name") or ""),
                str(notice.get("error") or ""),
            )

    async def _post_plain(
        self, job: Job, target: str, is_user: bool, content: Message
    ) -> Postpone | None:
        channel = await self.posting.dm_channel(target) if is_user else target
        now = self.services.clock.now()
        self.posting.check("chat.postMessage", channel, now)
        if not is_user:
            ready_at = await self.posting.turn(channel, now)
            if ready_at is not None:
                return Postpone(ready_at)
        if job.may_have_posted and await self.posting.find_posted(job, channel, target):
            return None
        await self.posting.call(
            "chat.postMessage", channel=channel, metadata=post_metadata(job, target), **content
        )
        job.reached.add(target)
        return None

    def _load(self, job: Job) -> _Loaded | None:
        """The job's alert as read with its claim; None (and logged) when there is none."""
        if job.alert_id is None:
            logger.error("alert delivery without an alert", extra={"outbox": job.id})
        elif job.loaded is None:
            logger.error("alert delivery for an alert that is gone", extra={"alert": job.alert_id})
        return job.loaded

    async def _rollup(self, job: Job) -> Outcome:
        """Post a roll-up, or bring it up to date (at most every ROLLUP_INTERVAL), in its
        conversation's turn."""
        rollup_id = rollups.rollup_id_of(job.subject)
        found = None
        if rollup_id is not None:
            found = await self.services.in_database(load_rollup, self.services, rollup_id, job.id)
        if found is None:
            logger.error("roll-up delivery without a roll-up", extra={"outbox": job.id})
            return None
        kind, target, summary, posted, first_waiting = found
        if posted is None and first_waiting:
            # The row that started the roll-up posts it (its answer may have been lost, and only
            # it looks for its post): this one updates it after.
            return Postpone(self.services.clock.now() + ROLLUP_INTERVAL)
        team = None
        if kind == rollups.CHANNEL:
            team = next(
                (t.id for t in self.services.plans.current.teams.values() if t.channel == target),
                None,
            )
        # A channel's roll-up speaks its team's language; a DM's, its reader's.
        if kind == rollups.CHANNEL:
            language = team_language(self.services.plans.current.teams.get(team or ""))
        else:
            language = await person_language(self.services, target)
        with speaking(language):
            content = rollup_message(summary)
        work = self._sync_rollup(job, kind, target, content, posted)
        return await self._step(job, work, target, team)

    async def _sync_rollup(
        self, job: Job, kind: str, target: str, content: Message, posted: SlackMessage | None
    ) -> Postpone | None:
        now = self.services.clock.now()
        if posted is None:
            channel = await self.posting.dm_channel(target) if kind == rollups.DM else target
            waiting = await self.posting.in_turn("chat.postMessage", channel, now)
            if waiting is not None:
                return waiting
            if await self.posting.post_once(job, "", ROLLUP, target, channel, content):
                return Postpone(now + ROLLUP_INTERVAL)  # an earlier try's, to bring up to date
            return None
        if full_hash(posted.content_hash) == content_hash(content):
            return None
        due = (posted.updated_at or posted.created_at) + ROLLUP_INTERVAL
        if now < due:
            return Postpone(due)
        return await self.posting.update_in_turn(job, posted, content, now)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []


def _instant(value: Any) -> datetime | None:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value)
    return None

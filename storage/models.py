"""The tables: overrides and requests that change the plan, alerts and their delivery, claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class OverrideBase(SQLModel):
    team: str = Field(max_length=64, index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(default="oncall", max_length=16)  # oncall | backup
    kind: str = Field(max_length=16)  # swap | cover | manual
    requested_by: str | None = Field(default=None, max_length=32)
    approved_by: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    swap_id: int | None = Field(default=None, foreign_key="swap_request.id")
    cover_id: int | None = Field(default=None, foreign_key="cover_request.id")


class Override(OverrideBase, table=True):
    """A runtime change to the plan: user_id holds the role over [start, end)."""

    __tablename__ = "override"
    # Who holds the pager asks for a team's overrides ending after an instant: with this index
    # the answer costs the same after ten years of swaps as after one.
    __table_args__ = (Index("ix_override_team_end", "team", "end"),)
    id: int | None = Field(default=None, primary_key=True)
    start: datetime = _instant(index=True)
    end: datetime = _instant(index=True)
    created_at: datetime = _instant()
    cancelled_at: datetime | None = _instant(nullable=True)


class RequestBase(SQLModel):
    """What a swap and a cover request both begin with: which one, in which team, who asks."""

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=64, index=True)
    requester: str = Field(max_length=32)


class SwapRequest(RequestBase, table=True):
    """One person asks a teammate to trade shifts; the teammate accepts or declines."""

    __tablename__ = "swap_request"
    requester_start: datetime = _instant()
    requester_end: datetime = _instant()
    target: str = Field(max_length=32, index=True)
    target_start: datetime = _instant()
    target_end: datetime = _instant()
    status: str = Field(default="pending", max_length=16)  # pending|accepted|declined|stale
    created_at: datetime = _instant()
    decided_at: datetime | None = _instant(nullable=True)
    dm_channel: str | None = Field(default=None, max_length=32)
    dm_ts: str | None = Field(default=None, max_length=32)


class CoverRequest(RequestBase, table=True):
    """A call for a volunteer to take (part of) someone's shift; the first click wins."""

    __tablename__ = "cover_request"
    start: datetime = _instant()
    end: datetime = _instant()
    status: str = Field(default="open", max_length=16)  # open|taken|cancelled
    taken_by: str | None = Field(default=None, max_length=32)
    taken_at: datetime | None = _instant(nullable=True)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = _instant()
    note: str | None = Field(default=None, max_length=500)  # the requester's words to the team


class Alert(SQLModel, table=True):
    """An alert as relayed: one row per open dedup key, updated by repeats."""

    __tablename__ = "alert"
    __table_args__ = (
        # One open alert per team and dedup key; a resolved one frees the key for a new alert.
        Index(
            "uq_alert_open_dedup",
            "team",
            "dedup_key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=64, index=True)
    integration: str = Field(max_length=64)
    dedup_key: str = Field(max_length=255)
    group_key: str | None = Field(default=None, max_length=1000)
    status: str = Field(default="open", max_length=16)  # open|acknowledged|resolved
    title: str = Field(max_length=300)
    summary: str = Field(default="", max_length=4000)
    severity: str = Field(default="warning", max_length=16)
    customer: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=300)
    runbook_url: str | None = Field(default=None, max_length=2000)
    links: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    # The sender's other facts: Grafana's values, PagerDuty's custom_details, Opsgenie's details.
    details: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    count: int = 1
    first_seen: datetime = _instant()
    last_seen: datetime = _instant()
    oncall_user: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = _instant(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=32)
    resolved_at: datetime | None = _instant(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=64)
    escalation_step: int = 0
    next_escalation_at: datetime | None = _instant(nullable=True, index=True)
    leadership_escalated_at: datetime | None = _instant(nullable=True)
    leadership_escalated_by: str | None = Field(default=None, max_length=32)


class AlertEvent(SQLModel, table=True):
    """One line of an alert's timeline: who did what, when."""

    __tablename__ = "alert_event"
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    at: datetime = _instant()
    kind: str = Field(
        max_length=32
    )  # received|repeated|acknowledged|resolved|escalated|leadership|...
    actor: str | None = Field(default=None, max_length=64)
    detail: str = Field(default="", max_length=2000)  # the words of a line stored before notes
    # What the line says, as a key and its parameters (bot/alerts/notes.py says it in words).
    note: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class SlackMessage(SQLModel, table=True):
    """A Slack message the bot posted for something (an alert card, a DM), to update it later."""

    __tablename__ = "slack_message"
    __table_args__ = (UniqueConstraint("subject", "role", "recipient", name="uq_slack_message"),)
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=64)  # e.g. "alert:42"
    role: str = Field(max_length=32)  # card | dm | leadership
    recipient: str = Field(max_length=32)  # the channel or user it went to
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    created_at: datetime = _instant()
    updated_at: datetime | None = _instant(nullable=True)
    # What the message shows, hashed: an update that would change nothing is not sent.
    content_hash: str | None = Field(default=None, max_length=64)


class Outbox(SQLModel, table=True):
    """A Slack delivery to make; drained by a worker, retried until done."""

    __tablename__ = "outbox"
    # Workers look for pending rows by due time: done rows, the many, stay out of the way; and,
    # for each, for a pending row of the same subject that another worker holds.
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_subject_status", "subject", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    subject: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = Field(default="pending", max_length=16)  # pending|done|failed
    attempts: int = 0
    # Tries that ended in an error Slack does not document: after a few, the row is failed.
    unknown_errors: int = 0
    # Claims of the row that may have posted without knowing it: counted up when a worker takes
    # the row, and set back to 0 when a try ends knowing what it posted (1 when it does not: a
    # post's answer was lost). More than one at a claim means a worker died holding it, or such
    # an answer was lost: what it posted may have reached Slack already.
    claims: int = 0
    # Which due rows go first (storage.outbox.URGENT, NORMAL, BACKLOG): what a user waits on
    # right now (a critical alert, a change to a card they look at, a page) before the cards of
    # a flood still waiting their channel's turn.
    priority: int = 1
    next_attempt_at: datetime = _instant()
    locked_until: datetime | None = _instant(nullable=True)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _instant()
    done_at: datetime | None = _instant(nullable=True)  # done, or failed for good


class Rollup(SQLModel, table=True):
    """One message standing for a flood of alerts into one channel (``kind`` channel) or one
    person's DMs (``kind`` dm): the alerts that joined it are counted there."""

    __tablename__ = "rollup"
    __table_args__ = (Index("ix_rollup_target", "kind", "target", "last_joined_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # channel | dm
    target: str = Field(max_length=64)  # a channel id, or a user id
    started_at: datetime = _instant()
    last_joined_at: datetime = _instant()


class RollupAlert(SQLModel, table=True):
    """An alert counted in a roll-up instead of having a message of its own there (yet)."""

    __tablename__ = "rollup_alert"
    rollup_id: int = Field(foreign_key="rollup.id", primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", primary_key=True, index=True)
    joined_at: datetime = _instant()


class DeliveryProblem(SQLModel, table=True):
    """Something Slack refuses for good about one channel or user (the bot is not a member, the
    channel is archived...), recorded once so that it is said once; forgotten when a post there
    goes through again."""

    __tablename__ = "delivery_problem"
    __table_args__ = (UniqueConstraint("target", "problem", name="uq_delivery_problem"),)
    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=64)  # a channel id, or a user id for a DM
    problem: str = Field(max_length=32)  # bot.slack.errors.Problem
    error: str = Field(max_length=64)  # Slack's error code, as it answered
    team: str | None = Field(default=None, max_length=64)
    at: datetime = _instant()


class Claim(SQLModel, table=True):
    """A scheduled send (handover, reminder, digest) claimed once under (team, kind, instant)."""

    __tablename__ = "claim"
    __table_args__ = (UniqueConstraint("team", "kind", "instant", name="uq_claim"),)
    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    instant: datetime = _instant()
    claimed_at: datetime = _instant()
    sent_at: datetime | None = _instant(nullable=True)
    outcome: str | None = Field(default=None, max_length=32)  # sent|late|skipped|failed
    # While there is no outcome: until when its sender holds it (None: held for good, as claims
    # made before leases), and how many senders took it (one renews it only while the last).
    locked_until: datetime | None = _instant(nullable=True)
    takes: int = 0


class SlackEventSeen(SQLModel, table=True):
    """Slack event ids already handled: a retried delivery is handled once."""

    __tablename__ = "slack_event_seen"
    event_id: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = _instant()


class ChannelPace(SQLModel, table=True):
    """How far ahead a Slack channel's posting turns are booked, shared by every replica."""

    __tablename__ = "channel_pace"
    channel: str = Field(primary_key=True, max_length=64)
    booked_until: datetime = _instant()


class WakeMethod(SQLModel, table=True):
    """A wake-up method a person added in the App Home: an Apprise URL, a secret (never shown
    back whole)."""

    __tablename__ = "wake_method"
    __table_args__ = (UniqueConstraint("user_id", "fingerprint", name="uq_wake_method"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32, index=True)
    url: str = Field(max_length=2000)
    fingerprint: str = Field(max_length=64)  # the URL's hash: the same URL is kept once
    created_at: datetime = _instant()


class WakeUp(SQLModel, table=True):
    """The wake-ups of one person paged for one alert: the next one due, until acknowledged.

    Claimed with a lease like the outbox (``locked_until``, ``claims``); ``sent`` counts the
    wake-ups made, ``reached`` the methods the current one already went through (a retry after
    one method failed does not wake the person twice through the others)."""

    __tablename__ = "wake_up"
    __table_args__ = (
        UniqueConstraint("alert_id", "user_id", name="uq_wake_up"),
        Index("ix_wake_up_status_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    user_id: str = Field(max_length=32)
    status: str = Field(default="pending", max_length=16)  # pending|done|stopped|failed
    sent: int = 0
    times: int = 1
    every_s: int = 300
    attempts: int = 0  # failed tries of the current wake-up
    reached: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    claims: int = 0
    next_attempt_at: datetime = _instant()
    locked_until: datetime | None = _instant(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _instant()
    done_at: datetime | None = _instant(nullable=True)


class WakeTest(SQLModel, table=True):
    """A test wake-up a person asked for in the App Home, through one of their methods: sent
    once by the wake-up worker (claimed with a lease, as wake-ups are), its result told them."""

    __tablename__ = "wake_test"
    __table_args__ = (Index("ix_wake_test_status_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    method: str = Field(max_length=64)  # the method's fingerprint: never its URL
    status: str = Field(default="pending", max_length=16)  # pending|done|failed
    attempts: int = 0
    claims: int = 0
    next_attempt_at: datetime = _instant()
    locked_until: datetime | None = _instant(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _instant()
    done_at: datetime | None = _instant(nullable=True)


class WakeNotice(SQLModel, table=True):
    """Something about a person's wake-ups already said to them in Slack (no method to wake
    them, a method the service refuses), kept so that it is said once."""

    __tablename__ = "wake_notice"
    __table_args__ = (UniqueConstraint("user_id", "about", name="uq_wake_notice"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    about: str = Field(max_length=80)  # "no-method", or "refused:<fingerprint>"
    at: datetime = _instant()


class HeartbeatState(SQLModel, table=True):
    """A heartbeat of the setup file as the bot saw it: watched since, last ping, silence raised."""

    __tablename__ = "heartbeat"
    name: str = Field(primary_key=True, max_length=64)
    watched_since: datetime = _instant()
    last_ping_at: datetime | None = _instant(nullable=True)
    # When its silence was due, once raised as an alert; cleared by the next ping.
    missed_at: datetime | None = _instant(nullable=True)


class PersonLanguage(SQLModel, table=True):
    """The language a person picked in the App Home (over the setup file's and their Slack's)."""

    __tablename__ = "person_language"
    user: str = Field(primary_key=True, max_length=32)
    language: str = Field(max_length=8)
    chosen_at: datetime = _instant()

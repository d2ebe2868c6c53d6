"""What a failed Slack Web API call means for trying it again, from Slack's own documentation of
its errors (the pages of chat.postMessage, chat.update, conversations.open, conversations.history,
views.update and of rate limits).

Every failure is sorted into one of four kinds: *transient* (Slack or the network had a passing
trouble: try again after a growing wait), *rate limited* (HTTP 429: try again after Retry-After,
which Slack applies per channel for chat.postMessage and per method and workspace otherwise),
*permanent* (an error no retry can mend: the bot is not in the channel, the channel is archived,
Slack refused what we sent) and *unknown* (anything Slack may add later: a few tries, then given
up, visibly). A failure also says whether the call may have done its work anyway: Slack documents
that ``internal_error`` and ``fatal_error`` may have half-succeeded, and a 5xx, a timeout or a
dropped connection leave the caller not knowing; an error answer otherwise says nothing was done.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError


class Kind(StrEnum):
    transient = "transient"
    rate_limited = "rate_limited"
    permanent = "permanent"
    unknown = "unknown"


class Problem(StrEnum):
    """What a permanent error says is wrong, named for what someone has to fix."""

    not_member = "not_member"  # the bot was never invited to the channel, or was removed
    unknown_channel = "unknown_channel"  # deleted, mistyped, or private without the bot
    archived = "archived"
    restricted = "restricted"  # a workspace or channel setting stops the bot from posting
    refused = "refused"  # Slack refused what the bot sent (blocks, length, arguments): a bug
    message_gone = "message_gone"  # the message to update was deleted, or may not be edited
    user_unreachable = "user_unreachable"  # no DM with this user: deactivated, unknown, hidden
    view_changed = "view_changed"  # the view to update was closed, or changed since it was read
    token = "token"  # the bot's token or its scopes: nothing the bot sends will get through


# Slack's error codes that no retry can mend, by what they say is wrong.
PERMANENT: dict[str, Problem] = {
    "not_in_channel": Problem.not_member,
    "channel_not_found": Problem.unknown_channel,
    "is_archived": Problem.archived,
    "is_inactive": Problem.archived,  # chat.update in a frozen, archived or deleted channel
    "restricted_action": Problem.restricted,
    "restricted_action_read_only_channel": Problem.restricted,
    "restricted_action_thread_only_channel": Problem.restricted,
    "restricted_action_non_threadable_channel": Problem.restricted,
    "restricted_action_thread_locked": Problem.restricted,
    "ekm_access_denied": Problem.restricted,
    "no_permission": Problem.restricted,
    "access_denied": Problem.restricted,
    "team_access_not_granted": Problem.restricted,
    "enterprise_is_restricted": Problem.restricted,
    "app_access_restricted": Problem.restricted,
    "invalid_blocks": Problem.refused,
    "invalid_blocks_format": Problem.refused,
    "invalid_attachments": Problem.refused,
    "block_mismatch": Problem.refused,
    "msg_too_long": Problem.refused,
    "msg_blocks_too_long": Problem.refused,
    "no_text": Problem.refused,
    "too_many_attachments": Problem.refused,
    "attachment_payload_limit_exceeded": Problem.refused,
    "invalid_metadata_format": Problem.refused,
    "invalid_metadata_schema": Problem.refused,
    "metadata_too_large": Problem.refused,
    "metadata_must_be_sent_from_app": Problem.refused,
    "markdown_text_conflict": Problem.refused,
    "as_user_not_supported": Problem.refused,
    "invalid_arguments": Problem.refused,
    "invalid_arg_name": Problem.refused,
    "invalid_array_arg": Problem.refused,
    "invalid_charset": Problem.refused,
    "invalid_form_data": Problem.refused,
    "invalid_post_type": Problem.refused,
    "missing_post_type": Problem.refused,
    "invalid_cursor": Problem.refused,
    "invalid_ts_latest": Problem.refused,
    "invalid_ts_oldest": Problem.refused,
    "users_list_not_supplied": Problem.refused,
    # usergroups.users.update: the workspace will not have the bot keep a user group.
    "plan_upgrade_required": Problem.restricted,
    "permission_denied": Problem.restricted,
    "no_such_subteam": Problem.refused,
    "invalid_users": Problem.refused,
    "invalid_user": Problem.refused,
    "no_users_provided": Problem.refused,
    "message_not_found": Problem.message_gone,
    "cant_update_message": Problem.message_gone,
    "edit_window_closed": Problem.message_gone,
    "user_not_found": Problem.user_unreachable,
    # views.update: the view's hash is not the one it has now; no view of that id (closed).
    "hash_conflict": Problem.view_changed,
    "not_found": Problem.view_changed,
    "user_not_visible": Problem.user_unreachable,
    "user_disabled": Problem.user_unreachable,
    "cannot_dm_bot": Problem.user_unreachable,
    "messages_tab_disabled": Problem.user_unreachable,
    "not_authed": Problem.token,
    "invalid_auth": Problem.token,
    "account_inactive": Problem.token,
    "token_revoked": Problem.token,
    "token_expired": Problem.token,
    "missing_scope": Problem.token,
    "not_allowed_token_type": Problem.token,
    "two_factor_setup_required": Problem.token,
    "accesslimited": Problem.token,
    "method_deprecated": Problem.token,
    "deprecated_endpoint": Problem.token,
}
# Passing troubles: Slack's side is busy, migrating or hit a snag; the same call later works.
TRANSIENT = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",  # the POST data arrived truncated
        "team_added_to_org",
        "org_login_required",
        "external_channel_migrating",
        "update_failed",
        "streaming_state_conflict",
        "message_limit_exceeded",  # a free workspace's message limit, for a while
    }
)
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
# Error answers after which the work may have been done all the same (Slack: "it's possible some
# aspect of the operation succeeded before the error was raised").
MAY_HAVE_SUCCEEDED = frozenset({"internal_error", "fatal_error"})
# A 429 that names no wait still asks for one.
MIN_RETRY_AFTER_S = 1.0
# Methods whose 429 holds one channel, not the whole method: Slack keeps chat.postMessage to about
# a message a second per channel.
PER_CHANNEL_METHODS = frozenset({"chat.postMessage"})


@dataclass(frozen=True)
class SlackFailure:
    """One failed call, sorted: what kind of failure, Slack's code (or the HTTP status or the
    network error's name), the wait Slack asked for, and whether the call may have done its work
    before failing."""

    method: str
    code: str
    kind: Kind
    retry_after: float | None = None
    may_have_succeeded: bool = False
    problem: Problem | None = None

    def __str__(self) -> str:
        return f"{self.method}: {self.code}"


def classify(method: str, error: BaseException) -> SlackFailure | None:
    """What the failure of a call to ``method`` means; None when it is no Slack or network
    failure (a bug, to let through)."""
    if isinstance(error, SlackApiError):
        response = error.response
        status = int(getattr(response, "status_code", 0) or 0)
        code = str(_get(response, "error") or "") or f"HTTP {status}"
        if status == 429 or code in RATE_LIMITED:
            wait = retry_after(getattr(response, "headers", None), MIN_RETRY_AFTER_S)
            return SlackFailure(
                method, code, Kind.rate_limited, retry_after=max(wait, MIN_RETRY_AFTER_S)
            )
        # An answer from behind Slack's front (a 5xx) may come after the work was done.
        unsure = status >= 500 or code in MAY_HAVE_SUCCEEDED
        if code in PERMANENT and status < 500:
            return SlackFailure(method, code, Kind.permanent, problem=PERMANENT[code])
        if code in TRANSIENT or status >= 500:
            return SlackFailure(method, code, Kind.transient, may_have_succeeded=unsure)
        return SlackFailure(method, code, Kind.unknown, may_have_succeeded=unsure)
    if isinstance(error, aiohttp.ClientConnectorError):
        # No connection was made: the request never left.
        return SlackFailure(method, error.__class__.__name__, Kind.transient)
    if isinstance(error, aiohttp.ClientError | TimeoutError | OSError):
        # Sent, and the answer lost on the way back (a timeout, a dropped connection).
        return SlackFailure(
            method, error.__class__.__name__, Kind.transient, may_have_succeeded=True
        )
    return None


def retry_after(headers: Any, default: float) -> float:
    """The seconds Slack asks to wait before trying again (Retry-After), else ``default``."""
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if headers else None
        if value is not None:
            with contextlib.suppress(TypeError, ValueError):
                return max(float(value), 0.0)
    return default


def rate_scope(method: str, channel: str | None = None) -> str:
    """What a 429 of ``method`` holds back: one channel for chat.postMessage, else the method
    in the whole workspace."""
    if method in PER_CHANNEL_METHODS and channel:
        return f"{method} {channel}"
    return method


def _get(response: Any, key: str) -> Any:
    try:
        return response.get(key)
    except (AttributeError, TypeError):
        return None

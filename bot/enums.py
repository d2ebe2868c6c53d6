"""Every action_id, callback_id and slash command name, in one place (kebab-case, namespaced)."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    oncall = "/oncall"
    swap = "/swap"
    cover = "/cover"
    escalate = "/escalate"


class Action(StrEnum):
    # Alert cards and DMs
    alert_ack = "alert-ack"
    alert_resolve = "alert-resolve"
    alert_escalate = "alert-escalate"
    alert_escalate_ceo = "alert-escalate-ceo"
    rollup_open = "rollup-open"  # a roll-up's menu: open one alert's card
    # Swaps
    swap_accept = "swap-accept"
    swap_decline = "swap-decline"
    swap_open = "swap-open"
    # Covers
    cover_take = "cover-take"
    cover_cancel = "cover-cancel"
    # Wake-up methods (App Home)
    wake_add = "wake-add"
    wake_remove = "wake-remove"
    wake_test = "wake-test"
    # Modal inputs (action ids inside input blocks)
    swap_my_shift = "swap-my-shift"
    swap_teammate = "swap-teammate"
    swap_their_shift = "swap-their-shift"
    escalate_team = "escalate-team"
    escalate_what = "escalate-what"
    escalate_severity = "escalate-severity"
    escalate_customer = "escalate-customer"
    cover_shift = "cover-shift"
    cover_from = "cover-from"
    cover_to = "cover-to"
    cover_note = "cover-note"
    # App Home
    home_language = "home-language"
    wake_url = "wake-url"


class View(StrEnum):
    alert_card = "alert-card"
    swap_request = "swap-request"
    escalate_request = "escalate-request"
    cover_request = "cover-request"
    wake_add = "wake-add"

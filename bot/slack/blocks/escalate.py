"""The /escalate form: which team, what happened, how bad, which customer; and reading it back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.alerts.model import TITLE_LIMIT, Severity
from bot.enums import Action, View
from bot.i18n import N_, _
from bot.plan.model import Team
from bot.slack.blocks import (
    OPTION_GROUPS_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    answer_text,
    input_block,
    modal,
    plain,
    section,
)

TEAM_BLOCK = "escalate_team"
WHAT_BLOCK = "escalate_what"
SEVERITY_BLOCK = "escalate_severity"
CUSTOMER_BLOCK = "escalate_customer"
WHAT_MAX = 2000
CUSTOMER_MAX = 200
SEVERITY_WORDS = {
    Severity.critical: N_("Critical: customers are hurt now"),
    Severity.error: N_("Error: something is broken"),
    Severity.warning: N_("Warning: needs a look soon"),
    Severity.info: N_("Info: for the record"),
}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT_MAX), "value": value}


def _team_menu(teams: Sequence[Team], selected: str) -> dict[str, Any]:
    """The team select's options, the selected team first shown; past Slack's 100 options a
    menu, the teams go in groups of 100 (a menu takes 100 groups), labelled by their range."""
    options = [_option(team.name, team.id) for team in teams]
    menu: dict[str, Any] = {
        "initial_option": next((o for o in options if o["value"] == selected), options[0])
    }
    if len(options) <= OPTIONS_MAX:
        menu["options"] = options
        return menu
    chunks = [options[i : i + OPTIONS_MAX] for i in range(0, len(options), OPTIONS_MAX)]
    menu["option_groups"] = [
        {
            "label": plain(f"{chunk[0]['text']['text']} … {chunk[-1]['text']['text']}", 75),
            "options": chunk,
        }
        for chunk in chunks[:OPTION_GROUPS_MAX]
    ]
    return menu


def escalate_modal(teams: Sequence[Team], *, selected: str, metadata: str) -> dict[str, Any]:
    """The form /escalate opens when typed without words."""
    severity_options = [_option(_(SEVERITY_WORDS[sev]), str(sev)) for sev in SEVERITY_WORDS]
    return modal(
        _("Page the on-call"),
        [
            section(
                _(
                    "Raise an alert for a team: its pager holder gets a DM and the team channel a "
                    "card, and it escalates like any other alert until someone acknowledges it."
                )
            ),
            input_block(
                TEAM_BLOCK,
                _("Team"),
                {
                    "type": "static_select",
                    "action_id": Action.escalate_team.value,
                    **_team_menu(teams, selected),
                },
            ),
            input_block(
                WHAT_BLOCK,
                _("What happened"),
                {
                    "type": "plain_text_input",
                    "action_id": Action.escalate_what.value,
                    "multiline": True,
                    "max_length": WHAT_MAX,
                    "placeholder": plain(_("Acme says checkout fails since 21:40")),
                },
                hint=_("The first line is the alert's title ({limit} characters).").format(
                    limit=TITLE_LIMIT
                ),
            ),
            input_block(
                SEVERITY_BLOCK,
                _("How bad"),
                {
                    "type": "static_select",
                    "action_id": Action.escalate_severity.value,
                    "options": severity_options,
                    "initial_option": severity_options[1],
                },
            ),
            input_block(
                CUSTOMER_BLOCK,
                _("Customer"),
                {
                    "type": "plain_text_input",
                    "action_id": Action.escalate_customer.value,
                    "max_length": CUSTOMER_MAX,
                },
                optional=True,
            ),
        ],
        callback_id=View.escalate_request.value,
        metadata=metadata,
        submit=_("Page them"),
        close=_("Cancel"),
    )


@dataclass(frozen=True)
class EscalateForm:
    """What the form said, or the errors to show against its inputs."""

    team: str = ""
    what: str = ""
    severity: Severity = Severity.error
    customer: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def read_escalate_form(view: Mapping[str, Any], team_ids: Sequence[str]) -> EscalateForm:
    """The submitted form, checked: a known team, some words, a known severity."""
    team = answer_text(view, TEAM_BLOCK, Action.escalate_team)
    what = answer_text(view, WHAT_BLOCK, Action.escalate_what).strip()
    severity_word = answer_text(view, SEVERITY_BLOCK, Action.escalate_severity) or "error"
    customer = answer_text(view, CUSTOMER_BLOCK, Action.escalate_customer).strip() or None
    errors = {}
    if team not in team_ids:
        errors[TEAM_BLOCK] = _("Pick one of the teams.")
    if not what:
        errors[WHAT_BLOCK] = _("Say what happened, in a few words.")
    if severity_word not in {str(s) for s in Severity}:
        errors[SEVERITY_BLOCK] = _("Pick how bad it is.")
    if errors:
        return EscalateForm(errors=errors)
    return EscalateForm(team, what, Severity(severity_word), customer)

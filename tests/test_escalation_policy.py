"""The pure escalation policy: who each step pages, and which step comes next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.notes import paged_for, say
from bot.alerts.policy import (
    DEFAULT_WAIT,
    Responders,
    first_step,
    next_step,
    steps_of,
    targets,
)
from bot.plan.model import EscalationStep, Every, Layer, NotifyTarget, Team

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
POLICY = (
    EscalationStep(NotifyTarget.oncall, wait=timedelta(minutes=10)),
    EscalationStep(NotifyTarget.backup, wait=timedelta(minutes=20)),
    EscalationStep(
        NotifyTarget.users, users=("U0SRE1", "U0SRE2", "U0SRE1"), wait=timedelta(hours=1)
    ),
    EscalationStep(NotifyTarget.leadership),
)
EVERYONE = Responders(oncall="U0ALICE", backup="U0LEAD1", leadership=("U0CEO", "U0CTO"))
GAP = Responders(oncall=None, backup="U0LEAD1", leadership=("U0CEO",))


@pytest.mark.parametrize(
    ("step", "responders", "expected"),
    [
        (POLICY[0], EVERYONE, ("U0ALICE",)),
        (POLICY[0], GAP, ()),
        (POLICY[1], EVERYONE, ("U0LEAD1",)),
        (POLICY[1], Responders(oncall="U0ALICE", backup=None), ()),
        (POLICY[2], EVERYONE, ("U0SRE1", "U0SRE2")),  # listed twice, paged once
        (POLICY[3], EVERYONE, ("U0CEO", "U0CTO")),
        (POLICY[3], Responders(oncall="U0ALICE", backup=None), ()),
    ],
)
def test_who_each_step_pages(
    step: EscalationStep, responders: Responders, expected: tuple[str, ...]
) -> None:
    assert targets(step, responders) == expected


def test_a_new_alert_pages_the_pager_holder_and_waits_the_first_step() -> None:
    choice = first_step(POLICY, EVERYONE)
    assert choice is not None
    assert (choice.index, choice.users, choice.skipped) == (0, ("U0ALICE",), ())
    assert say(paged_for(choice)) == "on call"
    assert choice.next_escalation_at(NOW) == NOW + timedelta(minutes=10)


def test_an_alert_in_a_gap_goes_to_the_next_step_at_once() -> None:
    choice = first_step(POLICY, GAP)
    assert choice is not None
    assert (choice.index, choice.users, choice.skipped) == (1, ("U0LEAD1",), (0,))
    assert choice.number == 2
    assert say(paged_for(choice)) == "escalation step 2 (backup)"
    # The wait is the one of the step applied, not of the empty step passed over.
    assert choice.next_escalation_at(NOW) == NOW + timedelta(minutes=20)


def test_a_gap_with_no_backup_either_goes_past_both() -> None:
    nobody = Responders(oncall=None, backup=None, leadership=("U0CEO",))
    choice = first_step(POLICY, nobody)
    assert choice is not None
    assert (choice.index, choice.skipped) == (2, (0, 1))


def test_escalation_walks_the_steps_and_stops_after_the_last() -> None:
    paged: set[str] = set()
    seen = []
    current = -1
    while (choice := next_step(POLICY, current, EVERYONE, paged)) is not None:
        seen.append((choice.number, choice.users, choice.next_escalation_at(NOW)))
        paged.update(choice.users)
        current = choice.index
    assert seen == [
        (1, ("U0ALICE",), NOW + timedelta(minutes=10)),
        (2, ("U0LEAD1",), NOW + timedelta(minutes=20)),
        (3, ("U0SRE1", "U0SRE2"), NOW + timedelta(hours=1)),
        (4, ("U0CEO", "U0CTO"), None),  # the last step: nothing after it
    ]


def test_a_step_reaching_only_people_already_paged_is_passed_over() -> None:
    # The backup is also the person who holds the pager this week: paging them again is no help.
    same_person = Responders(oncall="U0LEAD1", backup="U0LEAD1", leadership=("U0CEO",))
    choice = next_step(POLICY, 0, same_person, already_paged={"U0LEAD1"})
    assert choice is not None
    assert (choice.index, choice.skipped) == (2, (1,))
    # Only the new people of a step are paged.
    partly = next_step(POLICY, 1, EVERYONE, already_paged={"U0SRE1"})
    assert partly is not None and partly.users == ("U0SRE2",)


def test_no_step_after_the_last_and_none_beyond_a_shrunk_policy() -> None:
    assert next_step(POLICY, 3, EVERYONE) is None
    assert next_step(POLICY, 9, EVERYONE) is None  # the setup file lost steps meanwhile
    without_named_users = (POLICY[0], POLICY[1], POLICY[3])
    assert first_step(without_named_users, Responders(oncall=None, backup=None)) is None


def _team(**changes: object) -> Team:
    layer = Layer(
        name="weekly",
        members=("U0ALICE", "U0BOB"),
        start=datetime(2026, 11, 2, 9, 0),
        every=Every(1, "w"),
        timezone=ZoneInfo("Europe/Paris"),
    )
    fields: dict[str, object] = {
        "id": "support",
        "name": "Support",
        "channel": "C0SUPPORT",
        "timezone": ZoneInfo("Europe/Paris"),
        "rotations": (layer,),
    }
    fields.update(changes)
    return Team(**fields)  # type: ignore[arg-type]


def test_a_team_without_a_policy_gets_oncall_backup_leadership() -> None:
    leads = _team().rotations[0]
    assert [s.notify for s in steps_of(_team(backup=(leads,)), ["U0CEO"])] == [
        NotifyTarget.oncall,
        NotifyTarget.backup,
        NotifyTarget.leadership,
    ]
    assert steps_of(_team(), ["U0CEO"])[0].wait == DEFAULT_WAIT
    assert [s.notify for s in steps_of(_team(), [])] == [NotifyTarget.oncall]
    assert steps_of(_team(escalation=POLICY), ["U0CEO"]) == POLICY

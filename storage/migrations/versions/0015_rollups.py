"""roll-ups: one message for a flood of alerts into one channel, or one person's DMs

Slack takes about a post a second in a channel (and in a DM): 300 new alerts for one team took
five minutes to show, and their pager holder got 300 DMs. When more wait than a few seconds of
posting, the alerts join a roll-up instead: one message counting them, updated in place, their
cards following in its thread at the channel's pace; one DM for the person paged.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 11:00:00
"""

import sqlalchemy as sa

from storage.migrations.changes import index, new_table, reversible
from storage.migrations.columns import instant, integer, string

revision: str = "0015"
down_revision: str | None = "0014"

upgrade, downgrade = reversible(
    new_table(
        "rollup",
        integer("id"),
        string("kind", 16),
        string("target", 64),
        instant("started_at"),
        instant("last_joined_at"),
        sa.PrimaryKeyConstraint("id"),
        indexes=[index("ix_rollup_target", "kind", "target", "last_joined_at")],
    ),
    new_table(
        "rollup_alert",
        integer("rollup_id"),
        integer("alert_id"),
        instant("joined_at"),
        sa.ForeignKeyConstraint(["rollup_id"], ["rollup.id"]),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("rollup_id", "alert_id"),
        indexes=[index("ix_rollup_alert_alert_id", "alert_id")],
    ),
)

"""delivery failures: deliveries Slack refuses for good are failed, and what is wrong is said once

A delivery Slack refuses with an error no retry can mend (the bot is not in the channel, the
channel is archived, the blocks are invalid) was retried every half minute forever. It now ends
at once as ``failed``; one that keeps meeting errors Slack does not document ends so after a few
tries, counted in ``outbox.unknown_errors``. What is wrong with a channel or a user's DM is kept
in ``delivery_problem`` (one row per target and problem) so that the pager holder is told once,
not once per alert.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa

from storage.migrations.changes import new_columns, new_table, reversible, statement
from storage.migrations.columns import instant, integer, string

revision: str = "0009"
down_revision: str | None = "0008"

upgrade, downgrade = reversible(
    new_columns("outbox", integer("unknown_errors", server_default="0")),
    statement("UPDATE outbox SET status = 'failed' WHERE status = 'dead'"),
    new_table(
        "delivery_problem",
        integer("id"),
        string("target", 64),
        string("problem", 32),
        string("error", 64),
        string("team", 64, nullable=True),
        instant("at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target", "problem", name="uq_delivery_problem"),
    ),
)

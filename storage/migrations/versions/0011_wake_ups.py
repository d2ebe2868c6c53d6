"""wake-ups: people's wake-up methods, the wake-ups due for alerts, and what was said once

``wake_method`` keeps the Apprise URLs people add in the App Home; ``wake_up`` the next wake-up
of each person paged for an alert, claimed with a lease like the outbox; ``wake_notice`` what
the bot told a person about their wake-ups (no method, a method refused), so it is said once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa

from storage.migrations.changes import index, new_table, reversible
from storage.migrations.columns import instant, integer, json, lease, string

revision: str = "0011"
down_revision: str | None = "0010"

upgrade, downgrade = reversible(
    new_table(
        "wake_method",
        integer("id"),
        string("user_id", 32),
        string("url", 2000),
        string("fingerprint", 64),
        instant("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "fingerprint", name="uq_wake_method"),
        indexes=[index("ix_wake_method_user_id", "user_id")],
    ),
    new_table(
        "wake_up",
        integer("id"),
        integer("alert_id"),
        string("user_id", 32),
        string("status", 16),
        integer("sent"),
        integer("times"),
        integer("every_s"),
        integer("attempts"),
        json("reached"),
        integer("claims"),
        *lease(error_length=500),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "user_id", name="uq_wake_up"),
        indexes=[
            index("ix_wake_up_alert_id", "alert_id"),
            index("ix_wake_up_status_due", "status", "next_attempt_at"),
        ],
    ),
    new_table(
        "wake_notice",
        integer("id"),
        string("user_id", 32),
        string("about", 80),
        instant("at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "about", name="uq_wake_notice"),
    ),
)

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 05:55:02.819664
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import instant, integer, lease, string

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        integer("id"),
        string("team", 64),
        string("integration", 64),
        string("dedup_key", 255),
        string("group_key", 1000, nullable=True),
        string("status", 16),
        string("title", 300),
        string("summary", 4000),
        string("severity", 16),
        string("customer", 200, nullable=True),
        string("source", 300, nullable=True),
        string("runbook_url", 2000, nullable=True),
        sa.Column("links", sa.JSON(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        integer("count"),
        instant("first_seen"),
        instant("last_seen"),
        string("oncall_user", 32, nullable=True),
        instant("acknowledged_at", nullable=True),
        string("acknowledged_by", 32, nullable=True),
        instant("resolved_at", nullable=True),
        string("resolved_by", 64, nullable=True),
        integer("escalation_step"),
        instant("next_escalation_at", nullable=True),
        instant("leadership_escalated_at", nullable=True),
        string("leadership_escalated_by", 32, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_next_escalation_at"), ["next_escalation_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alert_team"), ["team"], unique=False)
        batch_op.create_index(
            "uq_alert_open_dedup",
            ["team", "dedup_key"],
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )

    op.create_table(
        "claim",
        integer("id"),
        string("team", 64),
        string("kind", 32),
        instant("instant"),
        instant("claimed_at"),
        instant("sent_at", nullable=True),
        string("outcome", 32, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "kind", "instant", name="uq_claim"),
    )
    op.create_table(
        "cover_request",
        integer("id"),
        string("team", 64),
        string("requester", 32),
        instant("start"),
        instant("end"),
        string("status", 16),
        string("taken_by", 32, nullable=True),
        instant("taken_at", nullable=True),
        string("channel", 32, nullable=True),
        string("ts", 32, nullable=True),
        instant("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cover_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cover_request_team"), ["team"], unique=False)

    op.create_table(
        "outbox",
        integer("id"),
        string("kind", 32),
        string("subject", 64, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        string("status", 16),
        integer("attempts"),
        *lease(error_length=2000),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_subject"), ["subject"], unique=False)

    op.create_table(
        "slack_event_seen",
        string("event_id", 64),
        instant("seen_at"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "slack_message",
        integer("id"),
        string("subject", 64),
        string("role", 32),
        string("recipient", 32),
        string("channel", 32),
        string("ts", 32),
        instant("created_at"),
        instant("updated_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "role", "recipient", name="uq_slack_message"),
    )
    op.create_table(
        "swap_request",
        integer("id"),
        string("team", 64),
        string("requester", 32),
        instant("requester_start"),
        instant("requester_end"),
        string("target", 32),
        instant("target_start"),
        instant("target_end"),
        string("status", 16),
        instant("created_at"),
        instant("decided_at", nullable=True),
        string("dm_channel", 32, nullable=True),
        string("dm_ts", 32, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("swap_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_swap_request_target"), ["target"], unique=False)
        batch_op.create_index(batch_op.f("ix_swap_request_team"), ["team"], unique=False)

    op.create_table(
        "alert_event",
        integer("id"),
        integer("alert_id"),
        instant("at"),
        string("kind", 32),
        string("actor", 64, nullable=True),
        string("detail", 2000),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_event_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "override",
        string("team", 64),
        string("user_id", 32),
        string("role", 16),
        string("kind", 16),
        string("requested_by", 32, nullable=True),
        string("approved_by", 32, nullable=True),
        string("reason", 500, nullable=True),
        integer("swap_id", nullable=True),
        integer("cover_id", nullable=True),
        integer("id"),
        instant("start"),
        instant("end"),
        instant("created_at"),
        instant("cancelled_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["cover_id"],
            ["cover_request.id"],
        ),
        sa.ForeignKeyConstraint(
            ["swap_id"],
            ["swap_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("override", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_override_end"), ["end"], unique=False)
        batch_op.create_index(batch_op.f("ix_override_start"), ["start"], unique=False)
        batch_op.create_index(batch_op.f("ix_override_team"), ["team"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("override", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_override_team"))
        batch_op.drop_index(batch_op.f("ix_override_start"))
        batch_op.drop_index(batch_op.f("ix_override_end"))

    op.drop_table("override")
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_event_alert_id"))

    op.drop_table("alert_event")
    with op.batch_alter_table("swap_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_swap_request_team"))
        batch_op.drop_index(batch_op.f("ix_swap_request_target"))

    op.drop_table("swap_request")
    op.drop_table("slack_message")
    op.drop_table("slack_event_seen")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_subject"))
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at"))

    op.drop_table("outbox")
    with op.batch_alter_table("cover_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cover_request_team"))

    op.drop_table("cover_request")
    op.drop_table("claim")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alert_open_dedup",
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_alert_team"))
        batch_op.drop_index(batch_op.f("ix_alert_next_escalation_at"))

    op.drop_table("alert")

"""override (team, end) index: who holds the pager costs the same after years of overrides

Every alert received, /oncall and the API ask for a team's overrides that end after an instant.
With the team's index alone the database read every override the team ever had; with (team,
end) it reads those still in force or to come.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_override_team_end", "override", ["team", "end"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_override_team_end", table_name="override")

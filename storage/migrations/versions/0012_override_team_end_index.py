"""override (team, end) index: who holds the pager costs the same after years of overrides

Every alert received, /oncall and the API ask for a team's overrides that end after an instant.
With the team's index alone the database read every override the team ever had; with (team,
end) it reads those still in force or to come.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00
"""

from storage.migrations.changes import index, new_index, reversible

revision: str = "0012"
down_revision: str | None = "0011"

upgrade, downgrade = reversible(new_index("override", index("ix_override_team_end", "team", "end")))

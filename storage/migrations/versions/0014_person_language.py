"""person_language: the language a person picks in the App Home

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 07:30:00
"""

import sqlalchemy as sa

from storage.migrations.changes import new_table, reversible
from storage.migrations.columns import instant, string

revision: str = "0014"
down_revision: str | None = "0013"

upgrade, downgrade = reversible(
    new_table(
        "person_language",
        string("user", 32),
        string("language", 8),
        instant("chosen_at"),
        sa.PrimaryKeyConstraint("user"),
    )
)

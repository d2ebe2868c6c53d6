"""cover note: what the requester tells the team with a cover request, shown on its post

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00
"""

from storage.migrations.changes import new_columns, reversible
from storage.migrations.columns import string

revision: str = "0008"
down_revision: str | None = "0007"

upgrade, downgrade = reversible(new_columns("cover_request", string("note", 500, nullable=True)))

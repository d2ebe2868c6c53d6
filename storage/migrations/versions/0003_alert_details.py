"""alert details: the sender's other facts (values, custom_details), shown on the card

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:30:00
"""

from storage.migrations.changes import new_columns, reversible
from storage.migrations.columns import json

revision: str = "0003"
down_revision: str | None = "0002"

upgrade, downgrade = reversible(new_columns("alert", json("details")))

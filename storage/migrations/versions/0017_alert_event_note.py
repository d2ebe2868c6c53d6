"""alert_event.note: what a timeline line says, as a key and its parameters, so that each
reader gets it in their own language (lines stored before keep their English detail)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00
"""

from storage.migrations.changes import new_columns, reversible
from storage.migrations.columns import json

revision: str = "0017"
down_revision: str | None = "0016"

upgrade, downgrade = reversible(new_columns("alert_event", json("note")))

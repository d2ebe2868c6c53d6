"""outbox priority: what a user waits on goes before the cards of a flood

Due deliveries were taken in the order they came due, so 300 new alerts into one channel held
up, behind their cards waiting at Slack's pace of a post a second, a critical alert, the DMs
paging the holder and the update of a card just acknowledged. Each row now has a priority
(0 first): rows are taken by priority, then by when they came due.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00
"""

from storage.migrations.changes import new_columns, reversible
from storage.migrations.columns import integer

revision: str = "0010"
down_revision: str | None = "0009"

upgrade, downgrade = reversible(new_columns("outbox", integer("priority", server_default="1")))

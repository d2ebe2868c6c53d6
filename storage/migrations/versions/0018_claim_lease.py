"""claim lease: a scheduled send is held under a lease its sender renews, and taken again once
the lease runs out with no outcome recorded

A claim with no outcome used to mean "being sent, or its sender died while sending", and was never
sent again: a hand-off whose sender was stopped halfway (a deploy during a long Retry-After) was
never posted. ``locked_until`` is how long its sender holds it; ``takes`` counts who took it, so
that a sender renews or releases its lease only while it is still the last to take it. Claims
made before this revision have no lease: they are old, and keep their meaning (held, never taken
again).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 14:00:00
"""

from storage.migrations.changes import new_columns, reversible
from storage.migrations.columns import instant, integer

revision: str = "0018"
down_revision: str | None = "0017"

upgrade, downgrade = reversible(
    new_columns(
        "claim", instant("locked_until", nullable=True), integer("takes", server_default="0")
    )
)

"""What Slack refuses for good about a channel or a user's DM, kept so that it is said once.

A problem is recorded under the unique key (target, problem): whoever records it first (a worker,
a replica) says it; later refusals of the same kind find it there and say nothing. A post that
goes through to the target again forgets its problems, so that the next refusal is said again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import DeliveryProblem

_TABLE = DeliveryProblem.__table__  # type: ignore[attr-defined]


def record_problem(
    *,
    session: Session,
    target: str,
    problem: str,
    error: str,
    team: str | None,
    now: datetime,
) -> bool:
    """Keep that ``target`` has ``problem``; True when it was not known yet (say it now)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_TABLE)
        .values(target=target, problem=problem, error=error[:64], team=team, at=now)
        .on_conflict_do_nothing(index_elements=["target", "problem"])
        .returning(_TABLE.c.id)
    )
    return session.execute(statement).first() is not None


def clear_problems(*, session: Session, targets: Collection[str]) -> int:
    """Forget the problems of targets a post went through to again; returns how many."""
    if not targets:
        return 0
    result = session.execute(
        delete(DeliveryProblem).where(col(DeliveryProblem.target).in_(targets))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def known_problems(*, session: Session) -> list[DeliveryProblem]:
    """Every problem known now, the oldest first."""
    return list(session.exec(select(DeliveryProblem).order_by(col(DeliveryProblem.id))))

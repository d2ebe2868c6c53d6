"""Statements asked for every alert received, compiled once per database and run on the driver.

SQLAlchemy's execution of a statement (its caches, events and result objects) costs about three
times what SQLite takes to run it, and the intake asks six or seven for every new alert. A
``Prepared`` statement is compiled by SQLAlchemy once per dialect and set of parameters, then run
on the DBAPI cursor of the session's own connection, inside the session's transaction. Values go
through the columns' bind and result processors, as they would through SQLAlchemy, and driver
errors come out as SQLAlchemy's (``IntegrityError``, ``OperationalError``...), and the session's
pending changes are flushed first, as its own queries would: callers cannot tell the difference.

They run in a ``Tx``: a Session, or the lighter ``storage.db.DriverTransaction`` the intake
writes new alerts in on SQLite, which has no ORM to flush.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Row = tuple[Any, ...]


class Tx(Protocol):
    """A transaction prepared statements run in: a Session is one."""

    autoflush: bool

    @property
    def info(self) -> dict[Any, Any]:
        """What the transaction's users keep in it (callbacks waiting for its commit...)."""

    def flush(self) -> None:
        """Write the pending ORM changes, before a statement that may depend on them."""

    def connection(self) -> Connection:
        """The connection, its transaction begun."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional drivers (SQLite): the parameters' order
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameter -> bind processor
    results: tuple[Callable[[Any], Any] | None, ...]  # by result column


def driver_error(
    dialect: Dialect, sql: str, params: Any, error: Exception, *, invalidated: bool = False
) -> exc.StatementError:
    """A driver's error as SQLAlchemy raises it (``IntegrityError``, ``OperationalError``...),
    for statements run on the driver directly."""
    return exc.DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated,
        dialect=dialect,
    )


class Prepared:
    """A Core statement run straight on the session connection's DBAPI cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}
        self._lock = threading.Lock()

    def all(self, session: Tx, params: Mapping[str, Any]) -> list[Row]:
        """Every row the statement returns, values as the columns' types give them."""
        return self._run(session, params, many=True)

    def first(self, session: Tx, params: Mapping[str, Any]) -> Row | None:
        """The first row, or None."""
        rows = self._run(session, params, many=False)
        return rows[0] if rows else None

    def execute(self, session: Tx, params: Mapping[str, Any]) -> None:
        """Run a statement that returns nothing."""
        self._run(session, params, many=False)

    def _run(self, session: Tx, params: Mapping[str, Any], *, many: bool) -> list[Row]:
        if session.autoflush:
            session.flush()  # what this statement reads or writes may depend on them
        connection = session.connection()  # begins the session's transaction if need be
        dialect = connection.dialect
        compiled = self._for(dialect, params)
        values: dict[str, Any] = dict(params)
        try:
            for name, process in compiled.binds:
                values[name] = process(values[name])
        except Exception as error:  # a value its column refuses, as SQLAlchemy reports it
            kind = f"{error.__class__.__module__}.{error.__class__.__name__}"
            raise exc.StatementError(f"({kind}) {error}", compiled.sql, params, error) from error
        arguments: Sequence[Any] | Mapping[str, Any] = (
            values if compiled.order is None else [values[name] for name in compiled.order]
        )
        dbapi = dialect.loaded_dbapi
        raw = connection.connection
        cursor = raw.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
            if cursor.description is None:
                return []
            fetched = cursor.fetchall() if many else cursor.fetchmany(1)
        except dbapi.Error as error:
            gone = dialect.is_disconnect(error, raw, cursor)
            if gone:
                connection.invalidate(error)
            raise driver_error(dialect, compiled.sql, arguments, error, invalidated=gone) from error
        finally:
            cursor.close()
        results = compiled.results
        if not any(results):
            return [tuple(row) for row in fetched]
        return [
            tuple(value if p is None else p(value) for p, value in zip(results, row, strict=True))
            for row in fetched
        ]

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, frozenset(params))
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compile(dialect, key[1])
                self._compiled[key] = compiled
        return compiled

    def _compile(self, dialect: Dialect, keys: frozenset[str]) -> _Compiled:
        # An insert's columns are the parameters given; a query's parameters are its binds.
        compiled = cast(
            SQLCompiler, self._statement.compile(dialect=dialect, column_keys=sorted(keys))
        )
        wanted = set(compiled.binds)
        if compiled.escaped_bind_names or wanted - keys:
            missing = ", ".join(sorted(wanted - keys)) or "escaped parameter names"
            raise ValueError(f"a prepared statement needs values it was not given: {missing}")
        binds = []
        for name in sorted(wanted):
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((name, process))
        columns = getattr(self._statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        order = None if compiled.positiontup is None else tuple(compiled.positiontup)
        return _Compiled(compiled.string, order, tuple(binds), results)

"""The database engine and sessions: SQLite in WAL mode by default, PostgreSQL by the same URL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import event, orm
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from storage.prepared import Tx, driver_error

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "watchkeeper_read_only"
NO_WAIT = "watchkeeper_no_wait"


class WriterBusy(Exception):
    """Another thread or process is writing to the SQLite database right now."""


class NeedsSession(Exception):
    """The work needs the ORM, which a ``DriverTransaction`` has not: do it again in a Session."""


def normalise_url(url: str) -> str:
    """The SQLAlchemy URL to use: plain postgresql:// URLs get the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL, with SQLite set to WAL, a busy timeout and foreign keys."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def make_read_only_engine(url: str) -> Engine:
    """An engine that can only read the database at the URL: a SQLite file is opened read-only
    (never created: opening a missing one fails), PostgreSQL transactions are read-only."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").resolve()
        # SQLite's own URI form: mode=ro never creates the file nor writes to it.
        uri = parsed.set(database=f"file:{quote(str(path))}").update_query_dict(
            {"mode": "ro", "uri": "true"}
        )
        engine = create_engine(
            uri,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            execution_options={READ_ONLY: True},
        )
        _configure_sqlite(engine, read_only=True)
        return engine
    return create_engine(
        parsed,
        connect_args={"options": "-c default_transaction_read_only=on"},
        pool_size=1,
        max_overflow=0,
    )


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # BEGIN IMMEDIATE can be used for writes and the lock is taken up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if read_only:
            # Setting the journal mode would be a write; a reader takes the file as it is.
            cursor.execute("PRAGMA query_only=ON")
        elif engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers queue on the busy timeout instead of failing on a lock upgrade; readers
        # (read_scope) take no lock and read the last commit, as WAL lets them; a writer that
        # must not wait (NoWaitWriter) gives up at once.
        options = conn.get_execution_options()
        if options.get(READ_ONLY):
            _begin(conn, "BEGIN")
        elif options.get(NO_WAIT):
            _begin_or_give_up(conn)
        else:
            _begin(conn, "BEGIN IMMEDIATE")


def _begin(conn: Connection, sql: str) -> None:
    # Straight on the driver: every write begins this way, and SQLAlchemy's execution of a
    # statement costs more than SQLite's BEGIN. A lock not had in the busy timeout still comes
    # out as SQLAlchemy's OperationalError ("database is locked"), which callers expect.
    dbapi = conn.dialect.loaded_dbapi
    try:
        conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except dbapi.Error as error:
        raise driver_error(conn.dialect, sql, (), error) from error


def _begin_or_give_up(conn: Connection) -> None:
    # The connection waits for no lock (its busy timeout is 0): SQLITE_BUSY is another process
    # holding the write lock. Anything else is real trouble.
    dbapi = conn.dialect.loaded_dbapi
    try:
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
    except dbapi.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise WriterBusy from None
        raise driver_error(conn.dialect, "BEGIN IMMEDIATE", (), error) from error


Row = TypeVar("Row")
Key = TypeVar("Key")


def inserted(session: Session, row: Row) -> Row:
    """Add a new row and flush it: it has its id, and a constraint it breaks is raised here."""
    session.add(row)
    session.flush()
    return row


def grouped(
    keys: Collection[Key], rows_of: Callable[[list[Key]], Iterable[Row]], key: Callable[[Row], Key]
) -> dict[Key, list[Row]]:
    """The rows of several keys read at once (``rows_of`` all the keys), by key, in the order
    they come; a key with none has an empty list, and no keys read nothing."""
    found: dict[Key, list[Row]] = {k: [] for k in keys}
    if found:
        for row in rows_of(list(found)):
            found[key(row)].append(row)
    return found


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# SQLite has one writer at a time. Threads of this process that want to write queue here, in
# order, rather than in SQLite's busy handler, which sleeps up to 100 ms between looks and so
# turns a short wait into a long one. Other processes still meet the busy timeout.
_SQLITE_WRITERS: dict[str, threading.RLock] = {}


def _writer_lock(engine: Engine) -> AbstractContextManager[Any]:
    return _sqlite_writers(engine) if is_sqlite(engine) else nullcontext()


def _sqlite_writers(engine: Engine) -> threading.RLock:
    return _SQLITE_WRITERS.setdefault(str(engine.url.database), threading.RLock())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with _writer_lock(engine), Session(engine, expire_on_commit=False) as session:
        yield from _committed(session)


def _committed(session: Session) -> Iterator[Session]:
    # The body of a session scope: the session, then its commit, or its rollback on any error.
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


class NoWaitWriter:
    """A SQLite connection for writes that must never wait: those done on the event loop.

    Its transactions give up at once, with ``WriterBusy`` and before anything is read or written,
    when another thread of this process or another process is writing; the caller then writes
    where waiting is allowed. It is held open rather than taken from the pool for each write.
    """

    def __init__(self, engine: Engine) -> None:
        if not is_sqlite(engine):
            raise ValueError("NoWaitWriter is for SQLite: other databases have row locks")
        self.engine = engine
        self._lock = _sqlite_writers(engine)
        self._connection: Connection | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        if not self._lock.acquire(blocking=False):
            raise WriterBusy
        try:
            with Session(self._connect(), expire_on_commit=False) as session:
                session.connection()  # begins now: WriterBusy before the caller does anything
                yield from _committed(session)
        except WriterBusy:
            raise  # nothing was begun
        except BaseException:
            # A failed commit can leave the transaction open on the connection: back to the pool
            # with it, which rolls back whatever is left; the next write takes another.
            self.close()
            raise
        finally:
            self._lock.release()

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.invalidated:
            self.close()
            connection = self.engine.connect().execution_options(**{NO_WAIT: True})
            _driver(connection).execute("PRAGMA busy_timeout=0")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        """Give the connection back to the pool, waiting again (a later write takes a new one)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            if not connection.invalidated:
                _driver(connection).execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[DriverTransaction]:
        """A ``DriverTransaction``: committed on success, rolled back on any error."""
        if not self._lock.acquire(blocking=False):
            raise WriterBusy
        try:
            connection = self._connect()
            _begin_or_give_up(connection)
            tx = DriverTransaction(connection)
            try:
                yield tx
            except BaseException:
                self._end(connection, "ROLLBACK")
                raise
            self._end(connection, "COMMIT")
        finally:
            self._lock.release()
        _run_after_commit(tx)

    def _end(self, connection: Connection, sql: str) -> None:
        dialect, driver = connection.dialect, _driver(connection)
        try:
            # The engine's listeners hear of it, as of any commit or rollback.
            if sql == "COMMIT":
                connection.dispatch.commit(connection)
            else:
                connection.dispatch.rollback(connection)
            # SQLite rolls a transaction back by itself on some errors (a full disk...).
            if sql == "COMMIT" or driver.in_transaction:
                driver.execute(sql)
        except BaseException as error:
            # What is left of the transaction goes back to the pool with the connection, which
            # rolls it back; the next write takes another.
            self.close()
            if isinstance(error, dialect.loaded_dbapi.Error):
                raise driver_error(dialect, sql, (), error) from error
            raise


class DriverTransaction:
    """A SQLite write transaction begun and ended on the driver, without a Session.

    Beginning and committing a Session costs about four times the CPU that SQLite's own BEGIN
    and COMMIT do, and the intake writes one transaction for every alert received. Only
    prepared statements (``storage.prepared``) run in this one: work that needs the ORM raises
    ``NeedsSession`` and is rolled back, and the caller does it again in a Session.
    """

    autoflush = False

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.info: dict[Any, Any] = {}

    def flush(self) -> None:
        """Nothing to flush: no ORM object lives in this transaction."""

    def connection(self) -> Connection:
        """The connection, inside this transaction."""
        return self._connection


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads: on SQLite it does not wait for, nor hold up, the writer."""
    # Closing the session ends its transaction and keeps what was loaded (a rollback would
    # expire it).
    with Session(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False) as session:
        yield session


# --------------------------------------------------------------------------- after the commit


def after_commit(tx: Tx, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the transaction commits; drop it on a rollback."""
    tx.info.setdefault(_AFTER_COMMIT, []).append(callback)


_AFTER_COMMIT = "wk_after_commit"


# Listened to once for every session (of every Session class), rather than per session: the
# intake asks for a callback on every alert received, and adding a listener to a session costs
# more than the rest of the bookkeeping.
@event.listens_for(orm.Session, "after_commit")
def _run_after_commit(tx: Tx) -> None:
    for callback in tx.info.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:  # the data is committed; a failed metric must not hide that
            logger.exception("after-commit callback failed")


@event.listens_for(orm.Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)

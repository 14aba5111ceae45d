"""Engine set-up for SQLite (WAL, BEGIN IMMEDIATE for writes) and PostgreSQL (psycopg 3), per-call time
limits pushed down to the database, and database failures translated into meshsmith errors.

A call's deadline travels in the `DEADLINE` context variable (absolute `time.monotonic()` seconds; the
server sets it per RPC, `asyncio.to_thread` carries it into the worker thread). Every transaction then runs
under min(remaining deadline, the server-wide cap): `SET LOCAL statement_timeout` on PostgreSQL, a
progress handler that interrupts the statement on SQLite.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from meshsmith.errors import InvalidInput, MeshsmithError, ResourceExhausted, Unavailable

from .blobs import DISK_FULL

BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 5
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("meshsmith_db_deadline", default=None)


def make_engine(url: str, pool_size: int = 8, max_overflow: int = 24, pool_timeout: float = 30.0) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs.

    pool_timeout: seconds a transaction waits for a free connection before ResourceExhausted.
    """
    u = sa.make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database in (None, "", ":memory:"):
            raise ValueError("the registry needs a file SQLite database (sqlite:///path/registry.db)")
        engine = sa.create_engine(
            u,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )
        _configure_sqlite(engine)
        return engine
    if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("psycopg2", "psycopg2cffi"):
        u = u.set(drivername="postgresql+psycopg")
    # No pool_pre_ping (one more round trip per transaction): after a server restart one call fails
    # and SQLAlchemy then invalidates the whole pool.
    return sa.create_engine(u, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=3600,
                            pool_timeout=pool_timeout, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=FULL")  # a committed version survives power loss
        cur.execute("PRAGMA cache_size=-32768")  # 32 MiB page cache per connection
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def translate(err: BaseException, what: str = "the registry database") -> MeshsmithError | None:
    """The meshsmith error a database failure means for the caller, or None when it is a bug."""
    if isinstance(err, sa.exc.TimeoutError):  # no free pooled connection within pool_timeout
        return ResourceExhausted(
            f"all connections to {what} are busy; retry in a few seconds (operators: raise the pool or find slow queries)"
        ).retry_after(2)
    if isinstance(err, sa.exc.DataError):
        return InvalidInput("a value was refused by the database (too long, out of range, or holds a NUL character); "
                            "shorten it or remove control characters")
    if isinstance(err, OSError) and err.errno in DISK_FULL:
        return ResourceExhausted("the server's disk is full; an operator must free space (or run gc) or grow the "
                                 "volume before anything new can be stored").retry_after(60)
    if isinstance(err, (sa.exc.OperationalError, sa.exc.InterfaceError)) or (
        isinstance(err, sa.exc.DBAPIError) and err.connection_invalidated
    ):
        orig = getattr(err, "orig", None)
        code = getattr(orig, "sqlstate", None) or ""
        text = str(orig or err).splitlines()[0][:200]
        if code == "57014" or "interrupted" in text:
            return ResourceExhausted(
                "the query ran past its time limit (the call's deadline or the server's statement timeout) and was "
                "cancelled; narrow it (fewer tags, a longer prefix, a smaller limit) or retry later"
            ).retry_after(5)
        if code.startswith("53") or "disk is full" in text or "disk full" in text:
            return ResourceExhausted(f"{what} is out of resources ({text}); an operator must free disk space, memory "
                                     "or connections, then retry").retry_after(30)
        if "locked" in text:
            return Unavailable(f"{what} is busy ({text}); retry in a moment")
        return Unavailable(f"{what} is unreachable ({text}); check that it is running and reachable, then retry "
                           "(jobs in flight retry on their own)")
    return None


class Sessions:
    """Read and write sessions over one engine. Writes lock: BEGIN IMMEDIATE on SQLite.

    statement_timeout_s caps every statement (None: no cap); a call's DEADLINE lowers it further.
    """

    def __init__(self, engine: sa.Engine, statement_timeout_s: float | None = None):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.statement_timeout_s = statement_timeout_s
        if statement_timeout_s is not None and engine.dialect.name == "postgresql":
            # the cap is the session default; a transaction only sets its own (SET LOCAL) when a deadline is nearer
            @event.listens_for(engine, "connect")
            def _cap(dbapi_conn, _record):
                with dbapi_conn.cursor() as cur:
                    cur.execute(f"SET statement_timeout = {max(1, int(statement_timeout_s * 1000))}")
                dbapi_conn.commit()

        reader = engine.execution_options(sqlite_begin="DEFERRED") if self.sqlite else engine
        self._read = sessionmaker(reader, expire_on_commit=False)
        self._write = sessionmaker(engine, expire_on_commit=False)

    def _limit_s(self) -> tuple[float | None, bool]:
        """(seconds the transaction may run or None, whether the call's deadline is what sets it)."""
        deadline = DEADLINE.get()
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise ResourceExhausted("the call's deadline passed before the database was reached; retry with a longer deadline")
        cap = self.statement_timeout_s
        if left is not None and (cap is None or left < cap):
            return left, True
        return cap, False

    @contextmanager
    def _session(self, maker) -> Iterator[Session]:
        limit, by_deadline = self._limit_s()
        try:
            with maker() as s, s.begin():
                raw = None
                if limit is not None and self.sqlite:
                    raw = s.connection().connection.driver_connection
                    end = time.monotonic() + limit
                    raw.set_progress_handler(lambda: time.monotonic() > end, 10_000)
                elif by_deadline:  # PostgreSQL: lower this transaction's limit below the session's cap
                    s.execute(sa.text("SELECT set_config('statement_timeout', :ms, true)"),
                              {"ms": str(max(1, int(limit * 1000)))})
                try:
                    yield s
                finally:
                    if raw is not None:  # before the connection goes back to the pool
                        raw.set_progress_handler(None, 0)
        except (sa.exc.SQLAlchemyError, OSError) as err:
            mapped = translate(err)
            if mapped is None:
                raise
            raise mapped from err

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session(self._read) as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._session(self._write) as s:
            yield s

"""Engine set-up for SQLite (WAL, BEGIN IMMEDIATE for writes) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, pool_size: int = 8, max_overflow: int = 24) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""
    u = sa.make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database in (None, "", ":memory:"):
            raise ValueError("the registry needs a file SQLite database (sqlite:///path/registry.db)")
        engine = sa.create_engine(
            u,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        _configure_sqlite(engine)
        return engine
    if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("psycopg2", "psycopg2cffi"):
        u = u.set(drivername="postgresql+psycopg")
    # No pool_pre_ping (one more round trip per transaction): after a server restart one call fails
    # and SQLAlchemy then invalidates the whole pool.
    return sa.create_engine(u, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=3600)


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


class Sessions:
    """Read and write sessions over one engine. Writes lock: BEGIN IMMEDIATE on SQLite."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        reader = engine.execution_options(sqlite_begin="DEFERRED") if self.sqlite else engine
        self._read = sessionmaker(reader, expire_on_commit=False)
        self._write = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as s, s.begin():
            yield s

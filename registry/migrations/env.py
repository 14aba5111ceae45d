"""Alembic environment: runs on the connection Registry.migrate() passes in (or the configured URL)."""

from __future__ import annotations

from alembic import context

from registry.db import make_engine
from registry.schema import Base

PG_LOCK_KEY = 0x6D657368  # serialises concurrent upgrades on PostgreSQL


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # batch table rebuilds must not cascade through foreign keys (no-op inside a BEGIN)
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,
        transaction_per_migration=False,
    )
    try:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")  # no query cap for migrations
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
            context.run_migrations()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


conn = context.config.attributes.get("connection")
if conn is not None:
    _run(conn)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as c:
        _run(c)
    engine.dispose()

"""Registry fixtures: every test runs on SQLite (a real file) and on PostgreSQL (a fresh database per session)."""

from __future__ import annotations

import shutil
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from registry import Registry
from registry.schema import Base

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _sa_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Admin DSN of the local PostgreSQL, or skip (start it: pg_ctlcluster ... main start)."""
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as e:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {e}")
    return PG_ADMIN


@pytest.fixture(scope="session")
def pg_database(pg_server, tmp_path_factory):
    """A fresh `meshsmith_test_<random>` database, migrated to head, dropped at the end."""
    name = f"meshsmith_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = _sa_url(pg_server.rsplit("/", 1)[0] + "/" + name)
    reg = Registry(url, blob_dir=tmp_path_factory.mktemp("pg-blobs"))
    reg.migrate()
    reg.close()
    yield url
    with psycopg.connect(pg_server, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "registry.db"
    reg = Registry(f"sqlite:///{path}", path.parent / "blobs")
    reg.migrate()
    reg.close()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name("registry.db-wal").exists()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated, empty registry database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    engine = sa.create_engine(url)
    with engine.begin() as c:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        c.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture
def reg(db_url, tmp_path):
    r = Registry(db_url, tmp_path / "blobs")
    yield r
    r.close()

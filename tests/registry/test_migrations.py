"""Upgrading a database made at revision 0001 keeps its data and backfills revision 0002."""

import dataclasses
import json
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from alembic import command
from alembic.script import ScriptDirectory

from registry import HistoryQuery, Registry
from registry.store import alembic_config
from tests.registry.factory import new_version


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = request.getfixturevalue("pg_database")  # a fresh schema in the session's test database
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield url + f"?options=-csearch_path%3D{schema}"
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def test_upgrade_from_revision_1_keeps_data(empty_url, tmp_path):
    reg = Registry(empty_url, tmp_path / "blobs")
    reg.migrate("0001")
    assert reg.schema_revision() == "0001"
    report = {"profile": "fdm", "verdict": "CHECK_LEVEL_FAIL", "checks": []}
    t = "2024-01-02 03:04:05+00:00" if "postgresql" in empty_url else "2024-01-02 03:04:05.000000"
    with reg.engine.begin() as c:
        c.execute(sa.text("INSERT INTO assets (name, description, created_at, version_count) VALUES ('props/old', 'from v1', :t, 1)"), {"t": t})
        aid = c.execute(sa.text("SELECT id FROM assets")).scalar()
        c.execute(
            sa.text(
                "INSERT INTO versions (asset_id, number, created_at, author, source_sha256, parameters, idem_key, backend,"
                " backend_version, seed, mode, stats, reports, repair, deprecated)"
                " VALUES (:a, 1, :t, 'old', :sha, '{}', 'k', 'classic', '0.9', 0, 'inflate', '{}', :rep, '{}', false)"
            ),
            {"a": aid, "t": t, "sha": "a" * 64, "rep": json.dumps([report])},
        )
        vid = c.execute(sa.text("SELECT id FROM versions")).scalar()
        c.execute(sa.text("INSERT INTO artifacts (version_id, kind, lod, sha256, size, media_type) VALUES (:v, 'glb', 0, :sha, 3, 'model/gltf-binary')"), {"v": vid, "sha": "b" * 64})
        c.execute(sa.text("INSERT INTO channels (asset_id, name, version_id, moved_by, moved_at) VALUES (:a, 'latest', :v, 'old', :t)"), {"a": aid, "v": vid, "t": t})

    reg.migrate()
    assert reg.schema_revision() == ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    old = reg.resolve("props/old")
    assert (old.number, old.author, old.backend_version, old.reports) == (1, "old", "0.9", (report,))
    assert old.created_at.year == 2024 and old.created_at.tzinfo is not None
    assert reg.get_asset("props/old").description == "from v1"
    assert [v.number for v in reg.history("props/old", HistoryQuery(profile="fdm", verdict="fail"))] == [1]  # backfilled
    new = reg.create_version(new_version("props/old", 2, request_id="after-upgrade"))
    assert new.number == 2
    reg.migrate()  # idempotent
    reg.close()


def test_upgrade_from_revision_3_scopes_request_ids_to_their_caller(empty_url, tmp_path):
    """Revision 0004: request ids become per caller; old rows take the caller of the job that made the version."""
    reg = Registry(empty_url, tmp_path / "blobs")
    reg.migrate("0003")
    t = "2024-01-02 03:04:05+00:00" if "postgresql" in empty_url else "2024-01-02 03:04:05.000000"
    with reg.engine.begin() as c:
        c.execute(sa.text("INSERT INTO assets (name, description, created_at, version_count) VALUES ('props/a', '', :t, 1)"), {"t": t})
        aid = c.execute(sa.text("SELECT id FROM assets")).scalar()
        c.execute(sa.text(
            "INSERT INTO jobs (id, kind, asset, author, caller, state, attempts, input_sha256, request, request_id,"
            " created_at, updated_at) VALUES (:j, 'generate', 'props/a', 'key:a', 'key:a', 'done', 1, :sha, '{}', 'req-1', :t, :t)"),
            {"j": "f" * 32, "sha": "a" * 64, "t": t})
        c.execute(sa.text(
            "INSERT INTO versions (asset_id, number, created_at, author, source_sha256, parameters, idem_key, backend,"
            " backend_version, seed, mode, stats, reports, repair, deprecated, job_id)"
            " VALUES (:a, 1, :t, 'key:a', :sha, '{}', 'k', 'classic', '0.9', 0, 'inflate', '{}', '[]', '{}', false, :j)"),
            {"a": aid, "t": t, "sha": "a" * 64, "j": "f" * 32})
        vid = c.execute(sa.text("SELECT id FROM versions")).scalar()
        c.execute(sa.text("INSERT INTO requests (request_id, version_id, created_at) VALUES ('req-1', :v, :t)"), {"v": vid, "t": t})
    reg.migrate()
    with reg.engine.begin() as c:
        assert c.execute(sa.text("SELECT caller, request_id FROM requests")).all() == [("key:a", "req-1")]
    # another caller's req-1 is a new request; the first caller's retry still finds its version
    other = reg.create_version(new_version("props/b", 1, request_id="req-1", caller="key:b"))
    assert (other.asset, other.reused) == ("props/b", False)
    from registry.jobs import JobStore

    jobs = JobStore(reg.db)
    rec, new = jobs.create("e" * 32, "generate", "props/b", "key:b", "key:b", "b" * 64, {}, "req-1")
    assert new and rec.caller == "key:b"
    reg.close()


def test_revision_5_adds_captions_keeps_versions_and_downgrades(empty_url, tmp_path):
    """Revision 0005: versions.caption / caption_tags (nullable); old versions read back without a caption."""
    reg = Registry(empty_url, tmp_path / "blobs")
    reg.migrate("0004")
    t = "2024-01-02 03:04:05+00:00" if "postgresql" in empty_url else "2024-01-02 03:04:05.000000"
    with reg.engine.begin() as c:
        c.execute(sa.text("INSERT INTO assets (name, description, created_at, version_count) VALUES ('props/a', '', :t, 1)"), {"t": t})
        aid = c.execute(sa.text("SELECT id FROM assets")).scalar()
        c.execute(sa.text(
            "INSERT INTO versions (asset_id, number, created_at, author, source_sha256, parameters, idem_key, backend,"
            " backend_version, seed, mode, stats, reports, repair, deprecated)"
            " VALUES (:a, 1, :t, 'x', :sha, '{}', 'k', 'geometry', '0.1.0', 0, 'inflate', '{}', '[]', '{}', false)"),
            {"a": aid, "t": t, "sha": "a" * 64})
    reg.migrate()
    old = reg.history("props/a")[0]
    assert (old.caption, old.caption_tags) == (None, ())
    new = reg.create_version(dataclasses.replace(new_version("props/b", 1), caption="a red chair", caption_tags=("red", "chair")))
    assert (new.caption, new.caption_tags) == ("a red chair", ("red", "chair"))
    assert [a.name for a in reg.search(text="RED chair")] == ["props/b"]
    assert reg.search(text="blue chair") == []
    cfg = alembic_config(reg.database_url)
    with reg.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with reg.engine.begin() as c:
        assert "caption" not in [col["name"] for col in sa.inspect(c).get_columns("versions")]
    reg.close()

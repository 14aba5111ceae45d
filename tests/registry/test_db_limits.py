"""Database failures become meshsmith errors at the registry boundary (issue 9, items 4 and 6): a call's
deadline and the server's cap cancel statements in the database, an unreachable database is UNAVAILABLE,
a full disk is RESOURCE_EXHAUSTED — never a raw driver error (INTERNAL)."""

from __future__ import annotations

import hashlib
import subprocess
import time

import pytest
import sqlalchemy as sa

from meshsmith.errors import AlreadyExists, InvalidInput, ResourceExhausted, Unavailable
from registry import Registry
from registry.db import DEADLINE
from registry.jobs import JobStore
from tests.conftest import free_port
from tests.registry.factory import new_version

SLOW = {  # a statement that runs for minutes unless cancelled
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM (SELECT x FROM c LIMIT 2000000000)",
    "postgresql": "SELECT pg_sleep(120)",
}


def _slow(reg: Registry) -> None:
    with reg.db.read() as s:
        s.execute(sa.text(SLOW[reg.engine.dialect.name])).all()


def test_the_calls_deadline_cancels_the_statement_in_the_database(reg):
    token = DEADLINE.set(time.monotonic() + 0.5)
    try:
        with pytest.raises(ResourceExhausted, match="time limit"):
            _slow(reg)
    finally:
        DEADLINE.reset(token)
    assert reg.search("") == []  # the connection is usable again, without the old limit


def test_the_server_cap_cancels_a_statement_without_a_deadline(db_url, tmp_path):
    reg = Registry(db_url, tmp_path / "blobs", statement_timeout_s=0.5)
    try:
        with pytest.raises(ResourceExhausted, match="time limit"):
            _slow(reg)
        if reg.engine.dialect.name == "postgresql":  # the pathological search of issue 9.4 (planning takes ~30 s)
            with pytest.raises(ResourceExhausted, match="time limit"):
                reg.search("", tuple(f"t{i}" for i in range(200)), 10)
        assert reg.search("") == []
    finally:
        reg.close()


def test_a_passed_deadline_does_not_reach_the_database(reg):
    token = DEADLINE.set(time.monotonic() - 1)
    try:
        with pytest.raises(ResourceExhausted, match="deadline passed"):
            reg.search("")
    finally:
        DEADLINE.reset(token)


def test_unreachable_postgresql_is_unavailable_with_a_hint(tmp_path):
    reg = Registry(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing", tmp_path / "blobs")
    try:
        with pytest.raises(Unavailable, match="unreachable.*check that it is running"):
            reg.search("")
    finally:
        reg.close()


@pytest.mark.parametrize("value", ["a" * 201, "x\x00y"])
@pytest.mark.parametrize("field", ["author", "request_id", "caller", "asset"])
def test_job_rows_refuse_overlong_or_nul_text_before_the_database(reg, field, value):
    fields = dict(asset="props/a", author="ann", caller="key:a", request_id="r-1")
    fields[field] = value
    with pytest.raises(InvalidInput, match=field):
        JobStore(reg.db).create("a" * 32, "generate", fields["asset"], fields["author"], fields["caller"], "b" * 64,
                                {}, fields["request_id"])


def test_job_request_ids_are_per_caller_and_bound_to_their_payload(reg):
    jobs = JobStore(reg.db)
    a, new = jobs.create("a" * 32, "generate", "props/a", "ann", "key:a", "1" * 64, {"params": {"seed": 1}}, "r")
    assert new
    again, new = jobs.create("b" * 32, "generate", "props/a", "ann", "key:a", "1" * 64, {"params": {"seed": 1}}, "r")
    assert (again.id, new) == (a.id, False)
    other, new = jobs.create("c" * 32, "generate", "props/a", "bob", "key:b", "1" * 64, {"params": {"seed": 1}}, "r")
    assert new and other.id != a.id  # another caller's id: its own job
    for changed in (("import", "props/a", "1" * 64, {"params": {"seed": 1}}), ("generate", "props/b", "1" * 64, {"params": {"seed": 1}}),
                    ("generate", "props/a", "2" * 64, {"params": {"seed": 1}}), ("generate", "props/a", "1" * 64, {"params": {"seed": 2}})):
        kind, asset, sha, request = changed
        with pytest.raises(AlreadyExists, match="already used by you for a different request"):
            jobs.create("d" * 32, kind, asset, "ann", "key:a", sha, request, "r")


def test_job_ids_with_nul_or_10k_characters_are_not_found(reg):
    from meshsmith.errors import NotFound

    for job_id in ("a\x00" * 16, "a" * 10_000):
        with pytest.raises(NotFound, match="32 hex digits"):
            JobStore(reg.db).get(job_id)


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MiB tmpfs (needs root); unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_blob_disk_is_resource_exhausted_and_leaves_nothing_half_written(db_url, tiny_disk):
    reg = Registry(db_url, tiny_disk / "blobs")
    try:
        small = reg.blobs.put(b"fits")
        big = b"x" * (2 << 20)
        with pytest.raises(ResourceExhausted, match="out of disk space.*operator must free space"):
            reg.blobs.put(big)
        with pytest.raises(ResourceExhausted, match="out of disk space"):
            reg.create_version(new_version(glb=big))
        assert reg.search("") == []  # no version row refers to missing bytes
        left = {p.parent.name + p.name: p for p in (tiny_disk / "blobs").rglob("*") if p.is_file()}
        assert small in left
        for sha, path in left.items():  # no temp or partial files: whole blobs only (unreferenced ones are GC's)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    finally:
        reg.close()

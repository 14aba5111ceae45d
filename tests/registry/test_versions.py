import dataclasses
import hashlib
from datetime import timezone

import pytest
import sqlalchemy as sa

from meshsmith.errors import AlreadyExists, InvalidInput, NotFound
from registry import NewArtifact, Registry
from registry.schema import Artifact, Version
from tests.registry.factory import new_version


def count(reg: Registry, model) -> int:
    with reg.db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_lineage_is_recorded_and_queryable(reg):
    nv = new_version(i=1, request_id="req-1", job_id="job-1", seed=2**64 - 1,
                     extra_artifacts=[NewArtifact("glb", 1, b"lod1", "model/gltf-binary"), NewArtifact("stl", 0, b"solid", "model/stl")])
    v = reg.create_version(nv)
    assert (v.asset, v.number, v.reused, v.deprecated, v.channels) == ("props/chair", 1, False, False, ("latest",))
    assert v.created_at.tzinfo is not None and v.created_at.utcoffset().total_seconds() == 0
    got = reg.resolve("props/chair", "1")
    assert got == v
    assert got.parameters == nv.parameters and got.stats == nv.stats and got.repair == nv.repair
    assert got.reports == nv.reports and got.seed == 2**64 - 1 and got.job_id == "job-1"
    assert (got.backend, got.backend_version, got.mode, got.author) == ("classic", "1.0.0", "inflate", "ann")
    assert got.source_sha256 == hashlib.sha256(nv.artifacts[0].data).hexdigest()
    assert {(a.kind, a.lod) for a in got.artifacts} == {("source", 0), ("glb", 0), ("glb", 1), ("stl", 0)}
    for art, src in zip(sorted(got.artifacts, key=lambda a: (a.kind, a.lod)), sorted(nv.artifacts, key=lambda a: (a.kind, a.lod))):
        assert reg.blob_path(art.sha256).read_bytes() == src.data
        assert art.size == len(src.data) and art.media_type == src.media_type
    assert got.artifact("source").sha256 == got.source_sha256
    assert reg.resolve("props/chair").number == 1
    v2 = reg.create_version(new_version(i=2))
    assert v2.number == 2 and reg.resolve("props/chair", "latest").number == 2
    assert reg.get_asset("props/chair").version_count == 2


def test_blob_layout_and_readonly(reg):
    v = reg.create_version(new_version())
    sha = v.artifact().sha256
    path = reg.blob_path(sha)
    assert path == reg.blobs.root / sha[:2] / sha[2:]
    assert not list(path.parent.glob(".tmp-*"))
    with pytest.raises(NotFound):
        reg.blob_path("0" * 64)
    with pytest.raises(InvalidInput):
        reg.blob_path("../etc/passwd")


def test_idempotent_regeneration_reuses_the_version(reg):
    first = reg.create_version(new_version(i=1))
    blobs_before = sorted(p.name for p in reg.blobs.root.rglob("*"))
    # identical source + parameters (1000 == 1000.0 after canonicalisation) + seed + backend version
    params = dict(first.parameters, target_faces=1000.0)
    again = reg.create_version(new_version(i=1, parameters=params, author="bob", job_id="other"))
    assert again.reused and again.number == 1 and again.author == "ann"
    assert count(reg, Version) == 1 and sorted(p.name for p in reg.blobs.root.rglob("*")) == blobs_before
    # any change of parameters, seed or backend version makes a new version
    assert reg.create_version(new_version(i=1, parameters={**first.parameters, "target_faces": 5})).number == 2
    assert reg.create_version(new_version(i=1, seed=99)).number == 3
    assert reg.create_version(new_version(i=1, backend_version="1.0.1")).number == 4
    assert [e.action for e in reg.audit_log("props/chair")].count("version.created") == 4


def test_deprecated_version_is_not_reused(reg):
    reg.create_version(new_version(i=1))
    reg.deprecate("props/chair", 1, "qa", "broken uv")
    v = reg.create_version(new_version(i=1))
    assert (v.number, v.reused) == (2, False)


def test_request_id_retry_returns_the_version_made_for_it(reg):
    v = reg.create_version(new_version(i=1, request_id="r-1"))
    reg.create_version(new_version(i=2))
    retry = reg.create_version(new_version(i=1, request_id="r-1"))  # the same request again
    assert (retry.number, retry.reused) == (v.number, True)
    # a request answered by reuse remembers its answer too
    reused = reg.create_version(new_version(i=2, request_id="r-2"))
    assert (reused.number, reused.reused) == (2, True)
    assert reg.create_version(new_version(i=2, request_id="r-2")).number == 2
    assert count(reg, Version) == 2


def test_request_id_reused_for_another_payload_is_refused(reg):
    """Issue 9.1: a known request id with another asset, source, parameters or seed never answers the first
    request's version."""
    reg.create_version(new_version(i=1, request_id="r-1"))
    for changed in (new_version("props/table", i=1, request_id="r-1"),  # another asset
                    new_version(i=3, request_id="r-1"),  # another source and parameters
                    new_version(i=1, seed=7, request_id="r-1"),
                    new_version(i=1, parameters={"mode": "relief"}, request_id="r-1")):
        with pytest.raises(AlreadyExists, match="request_id 'r-1' was already used for a different request"):
            reg.create_version(changed)
    assert count(reg, Version) == 1


def _hosted(task: str, **kw):
    """A hosted backend's version: its recorded lineage holds the vendor's task id, its key only what was known
    before the call."""
    known = {"mode": "auto", "seed": 1, "backend": {"name": "remote", "model_id": "tripo:v2"}}
    recorded = {**known, "backend": {**known["backend"], "task_id": task, "weights_sha256": task * 2}}
    return new_version(i=1, parameters=recorded, backend="remote", backend_version=f"tripo:v2@{task}",
                       key_parameters=known, key_backend_version="tripo:v2", **kw)


def test_a_hosted_version_is_keyed_by_what_is_known_before_the_call(reg):
    """Another task id / download digest for the same request is the same version, and the version is found
    before the work (reusable_version: no artifacts needed); the lineage stays as first recorded."""
    first = _hosted("task-a")
    probe = dataclasses.replace(first, artifacts=(), parameters=first.key_parameters,
                                backend_version="tripo:v2", request_id="r-9")
    assert reg.reusable_version(probe) is None  # nothing stored yet (and no asset made)
    with pytest.raises(NotFound):
        reg.get_asset("props/chair")
    v = reg.create_version(first)
    found = reg.reusable_version(probe)
    assert found is not None and found.reused and found.number == v.number
    assert found.parameters["backend"]["task_id"] == "task-a" and found.backend_version == "tripo:v2@task-a"
    again = reg.create_version(_hosted("task-b"))
    assert again.reused and again.number == v.number and count(reg, Version) == 1
    # the probe remembered its request id: resending it (with a new task's lineage) answers the same version
    assert reg.create_version(_hosted("task-c", request_id="r-9")).number == v.number
    seeded = reg.create_version(_hosted("task-d", seed=2))
    assert not seeded.reused and seeded.number == 2
    other = dataclasses.replace(_hosted("task-e"), key_backend_version="tripo:v3")
    assert reg.create_version(other).number == 3


def test_request_ids_belong_to_their_caller(reg):
    """Issue 9.1: the same request id from another caller is another request, not the first caller's version."""
    a = reg.create_version(new_version(i=1, request_id="shared", caller="key:artist-a", author="key:artist-a"))
    b = reg.create_version(new_version("props/table", i=2, request_id="shared", caller="key:artist-b", author="key:artist-b"))
    assert (a.asset, b.asset, b.author, b.reused) == ("props/chair", "props/table", "key:artist-b", False)
    again = reg.create_version(new_version("props/table", i=2, request_id="shared", caller="key:artist-b"))
    assert (again.number, again.reused) == (b.number, True)


@pytest.mark.parametrize("field,value", [("author", "ann\x00"), ("request_id", "r\x00"), ("caller", "c" * 201),
                                         ("job_id", "j\x00")])
def test_overlong_or_nul_text_is_invalid_input_not_a_database_error(reg, field, value):
    """Issue 9.6: PostgreSQL answered a raw DataError (INTERNAL) for these."""
    with pytest.raises(InvalidInput, match=field):
        reg.create_version(new_version(**{field: value}))
    assert count(reg, Version) == 0


def test_bad_new_versions_are_rejected(reg):
    with pytest.raises(InvalidInput, match="glb"):
        reg.create_version(new_version(artifacts=(NewArtifact("source", 0, b"x", "image/png"),)))
    with pytest.raises(InvalidInput, match="lowercase"):
        reg.create_version(new_version("Props/Chair"))
    with pytest.raises(InvalidInput, match="kind"):
        reg.create_version(new_version(extra_artifacts=[NewArtifact("exe", 0, b"x", "a/b")]))
    with pytest.raises(InvalidInput, match="JSON"):
        reg.create_version(new_version(parameters={"x": float("nan")}))
    with pytest.raises(InvalidInput, match="request_id"):
        reg.create_version(new_version(request_id="r" * 201))
    with pytest.raises(InvalidInput, match="source_sha256"):
        reg.create_version(new_version(source_sha256="abc"))
    assert count(reg, Version) == 0


def test_failure_between_blob_write_and_commit_leaves_no_version(reg, monkeypatch):
    import registry.versions as versions

    real = versions.audit.append

    def boom(s, actor, action, *a, **kw):
        real(s, actor, action, *a, **kw)
        if action == "channel.moved":
            s.flush()  # the version and artifact rows are in the transaction now
            raise OSError("disk full (injected)")

    monkeypatch.setattr(versions.audit, "append", boom)
    with pytest.raises(OSError, match="injected"):
        reg.create_version(new_version(i=1))
    monkeypatch.undo()
    assert count(reg, Version) == 0 and count(reg, Artifact) == 0
    with pytest.raises(NotFound):
        reg.resolve("props/chair", 1)
    # the blobs were written first and are complete; numbering resumes without a gap
    v = reg.create_version(new_version(i=1))
    assert v.number == 1
    assert reg.blob_path(v.artifact().sha256).read_bytes() == new_version(i=1).artifacts[1].data


def test_failed_blob_write_leaves_nothing(reg, monkeypatch):
    def fail(data):
        raise OSError("no space left on device (injected)")

    monkeypatch.setattr(reg.blobs, "put", fail)
    with pytest.raises(OSError):
        reg.create_version(new_version())
    assert count(reg, Version) == 0
    assert not [p for p in reg.blobs.root.rglob("*") if p.is_file()]


def test_not_found_messages_are_actionable(reg):
    with pytest.raises(NotFound, match="no asset named 'props/chair'"):
        reg.resolve("props/chair")
    reg.create_version(new_version(i=1))
    reg.create_version(new_version(i=2))
    with pytest.raises(NotFound, match=r"has no version 7; it has versions 1\.\.2"):
        reg.resolve("props/chair", "7")
    with pytest.raises(NotFound, match="no channel 'stable'; its channels: latest"):
        reg.resolve("props/chair", "stable")
    with pytest.raises(NotFound):
        reg.history("props/nothing")
    created = reg.get_asset("props/chair").created_at
    assert created.tzinfo == timezone.utc

import os
import time

from registry.blobs import TMP_PREFIX
from tests.registry.factory import new_version

OLD = time.time() - 7 * 86400


def age_everything(reg):
    for p in reg.blobs.root.rglob("*"):
        if p.is_file():
            os.utime(p, (OLD, OLD))


def test_gc_never_deletes_a_referenced_blob(reg):
    kept = reg.create_version(new_version(i=1))
    orphan = reg.blobs.put(b"orphaned by a crashed request")
    young = reg.blobs.put(b"written by a request in flight")
    tmp = reg.blobs.root / "ab" / f"{TMP_PREFIX}crashed"
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_bytes(b"half")
    age_everything(reg)
    os.utime(reg.blobs.path(young))  # fresh: inside the grace period
    referenced = {a.sha256 for a in kept.artifacts}

    dry = reg.gc(dry_run=True, grace_s=3600)
    assert dry.dry_run and dry.deleted == (orphan,) and dry.skipped_young == (young,)
    assert dry.temp_files_removed == (tmp.name,) and dry.kept_referenced == len(referenced)
    assert reg.blobs.path(orphan).exists() and tmp.exists()  # dry run deletes nothing

    real = reg.gc(dry_run=False, grace_s=3600)
    assert real.deleted == (orphan,) and real.bytes_freed == len(b"orphaned by a crashed request")
    assert not reg.blobs.path(orphan).exists() and not tmp.exists() and reg.blobs.path(young).exists()
    for sha in referenced:
        assert reg.blob_path(sha).is_file()
    assert reg.audit().ok
    assert reg.audit_log(limit=1)[0].action == "gc"


def test_gc_keeps_blobs_it_is_told_to_keep(reg):
    job_input = reg.blobs.put(b"input of a queued job")
    age_everything(reg)
    assert reg.gc(dry_run=False, grace_s=0, actor="admin", keep={job_input}).deleted == ()
    assert reg.blob_path(job_input).is_file()
    assert reg.gc(dry_run=False, grace_s=0, actor="admin").deleted == (job_input,)


def test_gc_keeps_blobs_of_deprecated_versions_and_shared_blobs(reg):
    v1 = reg.create_version(new_version(i=1))
    v2 = reg.create_version(new_version(i=2, source=b"image-props/chair-1"))  # shares the source image
    reg.deprecate("props/chair", 1, "qa", "bad")
    age_everything(reg)
    report = reg.gc(dry_run=False, grace_s=0)
    assert report.deleted == ()
    for sha in {a.sha256 for a in v1.artifacts + v2.artifacts}:
        assert reg.blob_path(sha).is_file()


def test_audit_detects_tampered_and_missing_blobs(reg):
    v = reg.create_version(new_version(i=1))
    assert reg.audit().ok and reg.audit().checked == 2
    glb = reg.blob_path(v.artifact("glb").sha256)
    os.chmod(glb, 0o644)
    glb.write_bytes(b"glTF tampered")
    src = reg.blob_path(v.artifact("source").sha256)
    src.unlink()
    report = reg.audit()
    assert not report.ok
    assert report.mismatched == (v.artifact("glb").sha256,) and report.missing == (v.artifact("source").sha256,)


def test_verified_path_and_healing(reg):
    import pytest

    from meshsmith.errors import DataLoss

    v = reg.create_version(new_version(i=1))
    sha = v.artifact("glb").sha256
    assert reg.blob_path(sha, verify=True).is_file()
    path = reg.blob_path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"x" * path.stat().st_size)  # same size, different bytes
    with pytest.raises(DataLoss, match="corrupt"):
        reg.blob_path(sha, verify=True)
    # storing the same file again (e.g. a re-import) heals the blob
    assert reg.create_version(new_version(i=1)).reused
    reg.blobs.put(new_version(i=1).artifacts[1].data)
    assert reg.blob_path(sha, verify=True) and reg.audit().ok

import base64
import hashlib
import json

import pytest

from meshsmith.errors import InvalidInput, NotFound
from registry import NewArtifact
from tests.registry.factory import new_version


def test_lock_round_trip(reg):
    reg.create_version(new_version("props/chair", 1))
    reg.create_version(new_version("props/chair", 2, extra_artifacts=[NewArtifact("glb", 1, b"small", "model/gltf-binary")]))
    reg.create_version(new_version("chars/hero", 1))
    reg.move_channel("props/chair", "stable", 1, "lead")
    lock = reg.lock(["props/chair@stable", "props/chair@2#lod1", "chars/hero"], "https://cdn.example/")
    assert lock["lockfileVersion"] == 1
    assert list(lock["assets"]) == ["chars/hero", "props/chair", "props/chair#lod1"]
    chair = lock["assets"]["props/chair"]
    assert (chair["version"], chair["lod"], chair["ref"]) == (1, 0, "stable")
    assert chair["url"] == f"https://cdn.example/blobs/{chair['sha256']}"
    lod1 = lock["assets"]["props/chair#lod1"]
    assert (lod1["version"], lod1["lod"], lod1["size"]) == (2, 1, 5)
    # the verify side: bytes at the pinned blob match size, sha256 and SRI integrity
    json.loads(json.dumps(lock))
    for entry in lock["assets"].values():
        data = reg.blob_path(entry["sha256"]).read_bytes()
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["integrity"] == "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    # re-locking after a new version changes only what follows a moving ref
    reg.create_version(new_version("chars/hero", 2))
    again = reg.lock(["props/chair@stable", "props/chair@2#lod1", "chars/hero"], "https://cdn.example")
    assert again["assets"]["props/chair"] == chair and again["assets"]["chars/hero"]["version"] == 2


def test_lock_errors(reg):
    reg.create_version(new_version("props/chair", 1))
    with pytest.raises(NotFound, match="no glb lod 3"):
        reg.lock(["props/chair#lod3"], "http://h")
    with pytest.raises(NotFound, match="no channel 'stable'"):
        reg.lock(["props/chair@stable"], "http://h")
    with pytest.raises(InvalidInput):
        reg.lock(["props/chair@@"], "http://h")
    with pytest.raises(InvalidInput):
        reg.lock("props/chair", "http://h")

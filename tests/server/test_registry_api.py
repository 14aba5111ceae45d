"""Issues 4 and 5 through the real server: import, LODs, export, channels, diff, search, lockfiles over HTTP."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys

import pytest
import trimesh

from meshsmith.errors import InvalidInput, NotFound
from meshsmith.v1 import ingest_pb2
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, MESHES

CLI = [sys.executable, "-m", "meshsmith_client"]


def cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--server", server.address], capture_output=True, text=True, timeout=600)


def _import(client, path, asset, **fields):
    request = ingest_pb2.ImportRequest(asset=asset, mesh=path.read_bytes(), filename=path.name, **fields)
    events = [r.event for r in client._stream(client.ingest.Import, request)]
    return events[-1].version, events


def test_import_repairs_builds_lods_and_exports_for_printing(server, tmp_path):
    with server.client() as client:
        bunny, events = _import(client, MESHES / "stanford-bunny.obj", "import/bunny", target_faces=20000,
                                watertight=True, profiles=["fdm"])
        lods = sorted((a.lod, a.size) for a in bunny.artifacts if a.kind == "glb")
        faces = []
        for lod, _ in lods:
            mesh = trimesh.load(io.BytesIO(client.pull("import/bunny", "latest", lod=lod).data), file_type="glb", force="mesh")
            faces.append(len(mesh.faces))
        manifest = json.loads(client.pull("import/bunny", "latest", kind="lods").data)
        stl = client.export("import/bunny", "latest", "stl")
    assert [lod for lod, _ in lods] == [0, 1, 2, 3]
    assert faces[0] <= 20000 * 1.02 and all(abs(f / faces[0] - r) < 0.05 for f, r in zip(faces[1:], (0.5, 0.25, 0.1)))
    assert [lv["faces"] for lv in manifest["lods"]] == faces
    assert bunny.repair.open_edges_before > 0 and bunny.repair.open_edges_after == 0 and bunny.repair.holes_closed > 0
    assert bunny.stats.watertight and bunny.stats.volume_m3 > 0
    assert "lods" in [e.stage for e in events]
    printed = trimesh.load(io.BytesIO(stl.data), file_type="stl")
    ext_m = bunny.stats.bbox_max.y - bunny.stats.bbox_min.y  # glTF: Y up, metres
    assert abs(printed.extents[2] - ext_m * 1000) / (ext_m * 1000) < 0.01  # STL: Z up, millimetres
    assert hashlib.sha256(stl.data).hexdigest() == stl.artifact.sha256


def test_inside_out_horse_is_flipped_on_import(server):
    with server.client() as client:
        horse, _ = _import(client, MESHES / "horse.ply", "import/horse", target_faces=10000, lod_ratios=[1])
    assert horse.repair.faces_reversed > 0 and horse.stats.volume_m3 > 0
    assert [a.lod for a in horse.artifacts if a.kind == "glb"] == [0]


def test_flat_model_fails_printing_with_a_reason(server):
    with server.client() as client:
        woody, _ = _import(client, MESHES / "woody.obj", "import/woody", profiles=["fdm"], lod_ratios=[1])
    fdm = next(r for r in woody.reports if r.profile == "fdm")
    assert fdm.verdict == pb.CHECK_LEVEL_FAIL
    failing = [c for c in fdm.checks if c.level == pb.CHECK_LEVEL_FAIL]
    assert failing and all(len(c.message) > 20 for c in failing)


def test_bad_import_inputs(server):
    with server.client() as client:
        with pytest.raises(InvalidInput):
            _import(client, MESHES / "cow.obj", "import/bad", unit_scale=-1)
        with pytest.raises(InvalidInput, match="lod_ratios"):
            _import(client, MESHES / "cow.obj", "import/bad", lod_ratios=[3])
        with pytest.raises(InvalidInput, match="export format"):
            client.generate((IMAGES / "chair.png").read_bytes(), "import/chair", pb.GenerateParams(target_faces=2000))
            client.export("import/chair", "latest", "fbx")
        with pytest.raises(NotFound, match="lod 9"):
            client.pull("import/chair", "latest", lod=9)


def test_channels_diff_search_lock_and_pull_lock(server, tmp_path):
    image = (IMAGES / "teapot.png").read_bytes()
    with server.client() as client:
        v1 = client.generate(image, "game/teapot", pb.GenerateParams(target_faces=2000))
        v2 = client.generate(image, "game/teapot", pb.GenerateParams(target_faces=4000))
    assert (v1.number, v2.number) == (1, 2)

    assert cli(server, "promote", "game/teapot@1", "stable").returncode == 0
    out = cli(server, "diff", "game/teapot@1", "game/teapot@2")
    assert out.returncode == 0 and "target_faces: 2000 -> 4000" in out.stdout, out.stdout + out.stderr
    out = cli(server, "search", "game/")
    assert "game/teapot" in out.stdout

    lock = tmp_path / "assets.lock.json"
    out = cli(server, "lock", "game/teapot@stable", "-o", str(lock))
    assert out.returncode == 0, out.stderr
    pinned = json.loads(lock.read_text())["assets"]["game/teapot"]
    assert pinned["version"] == 1 and pinned["url"].startswith(f"http://{server.http}/blobs/")

    cli(server, "promote", "game/teapot@2", "stable")  # moving the channel does not change the lockfile's bytes
    target = tmp_path / "build"
    out = cli(server, "pull", "--lock", str(lock), str(target))
    assert out.returncode == 0, out.stderr
    glb = target / "game" / "teapot.glb"
    assert hashlib.sha256(glb.read_bytes()).hexdigest() == pinned["sha256"]
    again = cli(server, "pull", "--lock", str(lock), str(target))
    assert "ok (present)" in again.stdout

    glb.write_bytes(glb.read_bytes()[:-10] + b"0123456789")  # a tampered local file is replaced...
    assert cli(server, "pull", "--lock", str(lock), str(target)).returncode == 0
    assert hashlib.sha256(glb.read_bytes()).hexdigest() == pinned["sha256"]
    doc = json.loads(lock.read_text())  # ...and a lockfile pinning other bytes fails loudly
    doc["assets"]["game/teapot"]["sha256"] = "0" * 64
    lock.write_text(json.dumps(doc))
    bad = cli(server, "pull", "--lock", str(lock), str(tmp_path / "other"))
    assert bad.returncode == 1 and "DATA_LOSS" in bad.stderr and not (tmp_path / "other" / "game" / "teapot.glb").exists()

    assert cli(server, "deprecate", "game/teapot@2").returncode == 0
    with server.client() as client:
        assert client.pull("game/teapot", "latest").version.number == 1  # deprecated: never through a channel
        assert client.pull("game/teapot", "2").version.deprecated  # still pullable by number
    out = cli(server, "history", "game/teapot")
    assert "deprecated" in out.stdout
    audit = cli(server, "audit")
    assert audit.returncode == 0 and "0 mismatched" in audit.stdout

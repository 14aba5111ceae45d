"""Image in, validated and versioned GLB out, over real gRPC against a real server and SQLite file."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import subprocess
import sys

import grpc
import numpy as np
import pytest
import trimesh
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from meshsmith.errors import InvalidInput, NotFound
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, MESHES
from validation.gltf_validator import validate_glb

STAGES = ["queued", "decode", "segment", "reconstruct", "decimate", "repair", "export", "validate", "lods"]


def _load_glb(data: bytes) -> trimesh.Trimesh:
    """The GLB's single mesh, welded by position: glTF splits vertices at UV seams; slicers and Blender weld them."""
    scene = trimesh.load(io.BytesIO(data), file_type="glb")
    meshes = list(scene.geometry.values())
    assert len(meshes) == 1, f"expected one mesh, got {len(meshes)}"
    welded = meshes[0].copy()
    welded.merge_vertices(merge_tex=True, merge_norm=True)
    welded.visual = meshes[0].visual  # keep the texture visuals for the checks below
    return welded


@pytest.mark.parametrize("image", ["chair.png", "fox.jpg", "flamingo.png"])
def test_generate_pull_round_trip(server, image):
    asset = f"e2e/{image.split('.')[0]}"
    events = []
    with server.client() as client:
        version = client.generate((IMAGES / image).read_bytes(), asset, pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_INFLATE, target_faces=8000),
                                  on_event=events.append, author="tester")
        pulled = client.pull(asset, "latest")

    stages = [e.stage for e in events if not e.HasField("preview")]
    assert [s for s in stages if s in STAGES] == STAGES, stages
    assert stages[-1] == "done"
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [e.sequence for e in events] == sorted({e.sequence for e in events})
    assert version.number >= 1 and version.author == "tester" and version.asset == asset

    glb = next(a for a in version.artifacts if a.kind == "glb")
    assert pulled.data and hashlib.sha256(pulled.data).hexdigest() == glb.sha256 == pulled.artifact.sha256
    assert version.source_sha256 == hashlib.sha256((IMAGES / image).read_bytes()).hexdigest()

    report = validate_glb(pulled.data)
    assert report is not None and report.errors == 0, report.messages

    mesh = _load_glb(pulled.data)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert len(mesh.split(only_watertight=False)) == 1
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals) and mesh.visual.uv is not None
    assert mesh.visual.material.baseColorTexture is not None
    assert len(mesh.faces) <= 8000 * 1.05
    lo, hi = mesh.bounds
    assert abs(lo[1]) < 1e-6 and abs((hi[1] - lo[1]) - 1.0) < 0.02  # pivot at the bottom, 1 m tall
    assert abs(lo[0] + hi[0]) < 0.02 and abs(lo[2] + hi[2]) < 0.02  # centred
    default = next(r for r in version.reports if r.profile == "default")
    assert default.verdict == pb.CHECK_LEVEL_PASS, [(c.id, c.message) for c in default.checks]
    assert version.stats.watertight and version.stats.faces == len(mesh.faces)


def test_history_newest_first_and_refs(server):
    image = (IMAGES / "teapot.png").read_bytes()
    asset = "e2e/history-teapot"
    with server.client() as client:
        numbers = [client.generate(image, asset, pb.GenerateParams(target_faces=3000, seed=seed)).number for seed in (1, 2, 3)]
        history = client.history(asset)
        first = client.pull(asset, "1")
        latest = client.pull(asset, "latest")
        asset_info = client.get_asset(asset)
    assert numbers == [1, 2, 3]
    assert [v.number for v in history] == [3, 2, 1]
    assert [v.parameters["seed"] for v in history] == [3, 2, 1]
    assert first.version.number == 1 and latest.version.number == 3
    assert asset_info.version_count == 3 and asset_info.latest.number == 3


def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


BAD_IMAGES = {
    "empty": b"",
    "not an image": b"hello, this is plain text, not a picture" * 10,
    "truncated png": (IMAGES / "chair.png").read_bytes()[:2000],
    "blank white": _png(np.full((256, 256, 3), 255, np.uint8)),
    "fully transparent": _png(np.zeros((64, 64, 4), np.uint8)),
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_bad_images_are_invalid_argument_and_leave_nothing(server, case):
    from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc

    asset = f"bad/{case.replace(' ', '-')}"
    with server.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            list(stub.Generate(ingest_pb2.GenerateRequest(asset=asset, image=BAD_IMAGES[case]), timeout=120))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert len(err.value.details()) > 20  # a sentence a user can act on
    with server.client() as client, pytest.raises(NotFound):
        client.get_asset(asset)


def test_bad_names_and_unknown_refs(server):
    from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc

    image = (IMAGES / "chair.png").read_bytes()
    with server.channel() as channel:
        ingest = ingest_pb2_grpc.IngestServiceStub(channel)
        assets = assets_pb2_grpc.AssetServiceStub(channel)
        for name in ("../etc/passwd", "", "Props/Chair", "a" * 300, "props//chair"):
            code = _code(lambda: list(ingest.Generate(ingest_pb2.GenerateRequest(asset=name, image=image), timeout=60)))
            assert code == grpc.StatusCode.INVALID_ARGUMENT, name
        assert _code(lambda: assets.ListVersions(assets_pb2.ListVersionsRequest(asset="no/such-asset"))) == grpc.StatusCode.NOT_FOUND
        assert _code(lambda: list(assets.PullArtifact(assets_pb2.PullArtifactRequest(asset="no/such-asset")))) == grpc.StatusCode.NOT_FOUND
    with server.client() as client:
        client.generate(image, "e2e/refs", pb.GenerateParams(target_faces=2000))
        with pytest.raises(NotFound, match="e2e/refs"):
            client.pull("e2e/refs", "99")
        with pytest.raises(NotFound):
            client.pull("e2e/refs", "latest", kind="stl-that-does-not-exist")
    with server.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


def test_validate_rpc_on_real_meshes(server):
    with server.client() as client:
        cow = client.validate((MESHES / "cow.obj").read_bytes(), "cow.obj")
        woody = client.validate((MESHES / "woody.obj").read_bytes(), "woody.obj", profiles=["fdm"])
        with pytest.raises(InvalidInput):
            client.validate(b"solid nonsense\nfacet broken", "broken.stl")
    checks = {c.id: c for c in cow.reports[0].checks}
    assert cow.stats.watertight and checks["watertight"].level == pb.CHECK_LEVEL_PASS
    assert checks["volume.positive"].level == pb.CHECK_LEVEL_PASS and cow.stats.faces == 5804
    reports = {r.profile: r for r in woody.reports}
    assert reports["default"].verdict != pb.CHECK_LEVEL_PASS  # open and flat: a warning for a game asset
    assert reports["fdm"].verdict == pb.CHECK_LEVEL_FAIL  # and unprintable


def test_registry_rows_and_blobs_are_consistent(server):
    db = sqlite3.connect(server.data_dir / "registry.db")
    try:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    finally:
        db.close()
    assert "alembic_version" in tables
    blobs = [p for p in (server.data_dir / "blobs").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert blobs and all(hashlib.sha256(p.read_bytes()).hexdigest() == p.parent.name + p.name for p in blobs)


def test_cli_generate_pull_history(server, tmp_path):
    cli = [sys.executable, "-m", "meshsmith_client"]
    env_server = ["--server", server.address]
    gen = subprocess.run([*cli, "generate", str(IMAGES / "horse.png"), "--name", "cli/horse", "--faces", "5000", *env_server],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    assert "cli/horse@1" in gen.stdout and "watertight" in gen.stdout
    out = tmp_path / "horse.glb"
    pull = subprocess.run([*cli, "pull", "cli/horse@latest", "-o", str(out), *env_server], capture_output=True, text=True)
    assert pull.returncode == 0, pull.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() in pull.stdout
    hist = subprocess.run([*cli, "history", "cli/horse", *env_server], capture_output=True, text=True)
    assert hist.returncode == 0 and "\n   1  " in hist.stdout
    missing = subprocess.run([*cli, "pull", "cli/horse@7", "-o", str(tmp_path / "x.glb"), *env_server], capture_output=True, text=True)
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr and not (tmp_path / "x.glb").exists()
    bad = subprocess.run([*cli, "generate", str(MESHES / "cow.obj"), "--name", "cli/cow", *env_server], capture_output=True, text=True)
    assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr

"""Issue 11 item 6 through the real server: imports keep their look (materials, textures, colours), get a
neutral PBR material when they have none, and sit on the bottom-centre pivot unless keep_origin."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import trimesh

from meshsmith.errors import InvalidInput
from meshsmith.v1 import ingest_pb2
from tests.conftest import MESHES
from validation.formats import glb_json
from validation.gltf_validator import validate_glb

SPOT = MESHES / "spot"


def _import(client, asset: str, data: bytes, filename: str, **fields):
    request = ingest_pb2.ImportRequest(asset=asset, mesh=data, filename=filename, lod_ratios=[1], **fields)
    events = [r.event for r in client._stream(client.ingest.Import, request)]
    assert events[-1].HasField("version"), events[-1]
    return events[-1].version, client.pull(asset, str(events[-1].version.number)).data


def _mesh(glb: bytes) -> trimesh.Trimesh:
    scene = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene")
    return next(iter(scene.geometry.values()))


def spot_zip(mtl: bool = True) -> bytes:
    """The corpus spot OBJ (it has UVs but no mtllib) zipped in a folder with an MTL naming its texture."""
    obj = (SPOT / "spot_triangulated.obj").read_bytes()
    assert b"mtllib" not in obj and b"\nvt " in obj
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("spot/spot.obj", (b"mtllib spot.mtl\nusemtl spot\n" if mtl else b"") + obj)
        if mtl:
            z.writestr("spot/spot.mtl", b"newmtl spot\nKd 1 1 1\nmap_Kd spot_texture.png\n")
        z.write(SPOT / "spot_texture.png", "spot/spot_texture.png")
    return buf.getvalue()


def test_obj_mtl_zip_keeps_its_texture(server):
    with server.client() as client:
        version, glb = _import(client, "look/spot", spot_zip(), "spot.zip")
    tree = glb_json(glb)
    pbr = tree["materials"][0]["pbrMetallicRoughness"]
    assert "baseColorTexture" in pbr and tree["images"], tree["materials"]
    mesh = _mesh(glb)
    texture = np.asarray(mesh.visual.material.baseColorTexture.convert("RGB"))
    source = np.asarray(__import__("PIL.Image").Image.open(SPOT / "spot_texture.png").convert("RGB"))
    assert texture.shape == source.shape and np.abs(texture.astype(int) - source).mean() < 2  # the same picture
    report = validate_glb(glb)
    assert report is not None and report.errors == 0, report.messages
    assert version.stats.faces == 5856


def test_cow_sits_on_the_floor_centred_and_gets_a_neutral_material(server):
    source = trimesh.load(MESHES / "cow.obj", process=False)
    assert source.bounds[0][1] < -0.1  # the file's origin is inside the cow: half of it below the floor
    with server.client() as client:
        version, glb = _import(client, "look/cow", (MESHES / "cow.obj").read_bytes(), "cow.obj")
        kept, kept_glb = _import(client, "look/cow-origin", (MESHES / "cow.obj").read_bytes(), "cow.obj",
                                 keep_origin=True)
    lo, hi = _mesh(glb).bounds
    assert lo[1] == 0.0 and np.allclose((lo + hi)[[0, 2]] / 2, 0, atol=1e-6), (lo, hi)
    assert version.stats.bbox_min.y == 0.0
    assert np.allclose(hi - lo, source.extents, rtol=1e-5)  # metres as in the file: moved, not scaled
    assert any("bottom-centre pivot" in n for n in version.repair.notes)
    assert np.allclose(_mesh(kept_glb).bounds, source.bounds, atol=1e-5)
    material = glb_json(glb)["materials"][0]
    pbr = material["pbrMetallicRoughness"]
    assert pbr["baseColorFactor"][:3] == pytest.approx([128 / 255] * 3, abs=1e-3) and pbr["roughnessFactor"] == 0.8
    assert pbr["metallicFactor"] == 0.0
    for data in (glb, kept_glb):
        report = validate_glb(data)
        assert report is not None and report.errors == 0, report.messages


def test_ply_vertex_colours_are_baked_into_a_texture(server):
    sphere = trimesh.creation.icosphere(subdivisions=3)
    top = (sphere.vertices[:, 1] > 0)[:, None]
    colours = np.where(top, [255, 0, 0, 255], [0, 0, 255, 255]).astype(np.uint8)  # red top, blue bottom
    sphere.visual = trimesh.visual.ColorVisuals(sphere, vertex_colors=colours)
    ply = trimesh.exchange.ply.export_ply(sphere, encoding="binary", vertex_normal=False)
    with server.client() as client:
        version, glb = _import(client, "look/ball", ply, "ball.ply")
    tree = glb_json(glb)
    assert "baseColorTexture" in tree["materials"][0]["pbrMetallicRoughness"]
    mesh = _mesh(glb)
    uv = np.asarray(mesh.visual.uv)
    image = np.asarray(mesh.visual.material.baseColorTexture.convert("RGB"))
    h, w = image.shape[:2]
    texel = image[((1 - uv[:, 1]) * h).astype(int).clip(0, h - 1), (uv[:, 0] * w).astype(int).clip(0, w - 1)]
    y = mesh.vertices[:, 1] - mesh.bounds[0][1] - 1.0  # back to the sphere's centre
    assert (texel[y > 0.05] == [255, 0, 0]).all() and (texel[y < -0.05] == [0, 0, 255]).all()
    assert version.stats.watertight
    report = validate_glb(glb)
    assert report is not None and report.errors == 0, report.messages


def test_bad_bundles_are_invalid_argument(server):
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
        z.writestr("b.stl", "solid x\nendsolid x\n")
    with server.client() as client:
        for data, words in ((two.getvalue(), "exactly one mesh file"), (b"PK\x03\x04 nonsense", "not a valid .zip")):
            with pytest.raises(InvalidInput, match=words):
                _import(client, "look/bad", data, "bad.zip")


def _fdm(reports):
    return next(r for r in reports if r.profile == "fdm")


def test_import_printable_cow_passes_fdm_with_zero_crossings(server, tmp_path):
    from meshsmith.v1 import types_pb2 as pb
    from tests.validation.test_print_repair import crossings

    data = (MESHES / "cow.obj").read_bytes()
    with server.client() as client:
        plain, _ = _import(client, "print/cow-raw", data, "cow.obj", units="cm", profiles=["fdm"])
        fixed, glb = _import(client, "print/cow", data, "cow.obj", units="cm", profiles=["fdm"], printable=True)
    raw = {c.id: c for c in _fdm(plain.reports).checks}
    assert raw["self_intersections"].level == pb.CHECK_LEVEL_FAIL and raw["self_intersections"].value >= 78
    report = _fdm(fixed.reports)
    assert report.verdict == pb.CHECK_LEVEL_PASS, "; ".join(fixed.repair.notes)
    assert crossings(_mesh(glb)) == 0
    assert any(n.startswith("self-intersecting faces: ") and n.endswith(" -> 0") for n in fixed.repair.notes)


def test_validate_repair_printable_over_grpc_and_cli(server, tmp_path):
    import subprocess
    import sys

    from tests.validation.defects import folded_scan

    scan = folded_scan()
    ply = trimesh.exchange.ply.export_ply(scan, encoding="binary", vertex_normal=False)
    with server.client() as client:
        raw = client._call(client.ingest.Validate, ingest_pb2.ValidateRequest(mesh=ply, filename="scan.ply",
                                                                              profiles=["fdm"]))
        fixed = client._call(client.ingest.Validate, ingest_pb2.ValidateRequest(mesh=ply, filename="scan.ply",
                                                                                profiles=["fdm"], printable=True))
        with pytest.raises(InvalidInput, match="solidify_mm"):
            client._call(client.ingest.Validate, ingest_pb2.ValidateRequest(mesh=ply, filename="scan.ply",
                                                                            solidify_mm=-1))
    from meshsmith.v1 import types_pb2 as pb

    assert _fdm(raw.reports).verdict == pb.CHECK_LEVEL_FAIL and _fdm(fixed.reports).verdict == pb.CHECK_LEVEL_PASS
    assert fixed.repair.parts_before == 2 and fixed.repair.parts_after == 1
    path = tmp_path / "scan.ply"
    path.write_bytes(ply)
    run = subprocess.run([sys.executable, "-m", "meshsmith_client", "validate", str(path), "--profile", "fdm",
                          "--repair", "--printable"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "self-intersecting faces: " in run.stdout and "fdm: PASS" in run.stdout


def test_glb_material_is_kept(server):
    box = trimesh.creation.box((0.2, 0.1, 0.3))
    red = trimesh.visual.material.PBRMaterial(name="paint", baseColorFactor=[200, 30, 20, 255], metallicFactor=0.3,
                                              roughnessFactor=0.4)
    box.visual = trimesh.visual.TextureVisuals(material=red)
    glb_in = trimesh.Scene(box).export(file_type="glb")
    with server.client() as client:
        _, glb = _import(client, "look/red-box", glb_in, "box.glb")
    pbr = glb_json(glb)["materials"][0]["pbrMetallicRoughness"]
    assert pbr["baseColorFactor"][:3] == pytest.approx([200 / 255, 30 / 255, 20 / 255], abs=2e-3)
    assert pbr["metallicFactor"] == pytest.approx(0.3) and pbr["roughnessFactor"] == pytest.approx(0.4)


def test_cli_import_keep_origin_and_printable(server, tmp_path):
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "meshsmith_client", "import", str(MESHES / "cow.obj"), "--name", "cli/cow",
           "--units", "cm", "--profile", "fdm", "--lods", "1", "--printable", "--keep-origin", "--json"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "MESHSMITH_SERVER": server.address})
    assert run.returncode == 0, run.stdout + run.stderr
    version = json.loads(run.stdout)
    text = json.dumps(version)
    assert "self-intersecting faces: " in text and "bottom-centre" not in text  # kept its origin
    source = trimesh.load(MESHES / "cow.obj", process=False)
    assert version["stats"]["bbox_min"]["y"] == pytest.approx(source.bounds[0][1] * 0.01, abs=1e-4)


def test_big_import_decimates_before_repair():
    """More than BIG_IMPORT_RATIO x the face target: decimate first, repair the result once (issue 11 item 8)."""
    from server.pipeline import BIG_IMPORT_RATIO, ImportJob, import_mesh
    from validation.decimate import DecimateParams
    from validation.repair import RepairParams

    data = (MESHES / "stanford-bunny.obj").read_bytes()  # 69,451 triangles, open at the base
    stages = []
    out = import_mesh(ImportJob(mesh=data, filename="bunny.obj", decimate=DecimateParams(target_faces=5000),
                                repair=RepairParams(watertight=True), profiles=("fdm",), lod_ratios=(1,),
                                previews=False), lambda stage, fraction, message: stages.append(stage))
    assert 69_451 > BIG_IMPORT_RATIO * 5000
    assert stages.index("decimate") < stages.index("repair")
    assert any(n.startswith("decimated before repair") for n in out.repair["notes"])
    assert abs(out.stats["faces"] - 5000) < 500 and out.stats["watertight"]
    assert out.stats["bbox_min"][1] == 0.0


def test_big_import_is_deterministic_and_chains_its_lods():
    """The decimate-first path gives the same bytes twice; each LOD is decimated from the level above and its error
    is measured against LOD0 (issue 11 item 8)."""
    import json

    from server.pipeline import ImportJob, import_mesh
    from validation.decimate import DecimateParams
    from validation.repair import RepairParams

    data = (MESHES / "stanford-bunny.obj").read_bytes()
    job = ImportJob(mesh=data, filename="bunny.obj", decimate=DecimateParams(target_faces=5000, error_samples=5000),
                    repair=RepairParams(watertight=True), lod_ratios=(1, 0.5, 0.25), previews=False)
    a, b = (import_mesh(job, lambda *args: None) for _ in range(2))
    assert a.glb == b.glb and a.lods == b.lods and a.manifest == b.manifest
    levels = json.loads(a.manifest)["lods"]
    assert [lv["faces"] for lv in levels] == sorted((lv["faces"] for lv in levels), reverse=True)
    assert abs(levels[2]["faces"] - 0.25 * levels[0]["faces"]) <= 0.05 * levels[0]["faces"]
    assert all(lv["verdict"] == "pass" for lv in levels) and a.stats["watertight"]
    notes = [n for n in a.repair["notes"] if n.startswith("LOD")]
    assert len(notes) == 2 and all("max error" in n and "nan" not in n for n in notes)

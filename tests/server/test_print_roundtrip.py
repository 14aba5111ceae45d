"""Issue 11 items 1-3 through the real server: every corpus mesh imported, exported for printing
(STL, OBJ, 3MF) and validated again gives the stored verdict per check; fitted exports slice in PrusaSlicer."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from meshsmith.errors import InvalidInput
from meshsmith.v1 import ingest_pb2
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import MESHES
from tests.validation.test_export_print import SLICER, slice_file, slicer_info
from validation.print_export import PRINTERS

CLI = [sys.executable, "-m", "meshsmith_client"]
CORPUS = sorted(p for p in [*MESHES.glob("*.obj"), *MESHES.glob("*.ply"), *MESHES.glob("*/*.obj")])
FORMATS = ("stl", "obj", "3mf")
LEVEL = {pb.CHECK_LEVEL_PASS: "pass", pb.CHECK_LEVEL_WARN: "warn", pb.CHECK_LEVEL_FAIL: "fail"}


def _fdm(response):
    return next(r for r in response.reports if r.profile == "fdm")


def _levels(report) -> dict[str, str]:
    return {c.id: LEVEL.get(c.level, str(c.level)) for c in report.checks if not c.id.startswith("gltf.")}


@pytest.fixture(scope="module")
def imported(server):
    """Each corpus mesh imported once (format conventions: OBJ/PLY in metres, Y up), checked for fdm."""
    assert len(CORPUS) == 10, [p.name for p in CORPUS]  # every corpus mesh, none silently missing
    out = {}
    with server.client() as client:
        for path in CORPUS:
            asset = f"print/{path.stem}"
            request = ingest_pb2.ImportRequest(asset=asset, mesh=path.read_bytes(), filename=path.name,
                                               profiles=["fdm"], lod_ratios=[1])
            events = [r.event for r in client._stream(client.ingest.Import, request)]
            assert events[-1].HasField("version"), (path.name, events[-1])
            out[path.stem] = events[-1].version
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_validate_gives_the_stored_verdict_per_check(server, imported, fmt):
    differ = []
    with server.client() as client:
        for stem, version in imported.items():
            stored = _levels(_fdm(version))
            data = client.export(f"print/{stem}", str(version.number), fmt).data
            res = client.validate(data, f"{stem}.{fmt}", ["fdm"])
            assert res.frame.units == "mm" and res.frame.up == "z", res.frame
            read = _levels(_fdm(res))
            assert read.keys() == stored.keys(), (stem, read.keys() ^ stored.keys())
            differ += [f"{stem}.{fmt} {k}: stored {stored[k]}, read {read[k]}" for k in stored if stored[k] != read[k]]
    assert not differ, differ


@pytest.mark.skipif(SLICER is None, reason="prusa-slicer missing: `make install` installs it (APT_PACKAGES)")
def test_fitted_exports_that_pass_fdm_slice_at_our_size(server, imported, tmp_path):
    """--fit prusa-mk4 then validate; every file whose fdm verdict is pass slices headless in PrusaSlicer."""
    sliced = []
    with server.client() as client:
        for stem, version in imported.items():
            for fmt in ("stl", "3mf"):
                data = client.export(f"print/{stem}", str(version.number), fmt, fit="prusa-mk4").data
                res = client.validate(data, f"{stem}.{fmt}", ["fdm"])
                assert _levels(_fdm(res))["build.volume"] == "pass", stem
                if LEVEL[_fdm(res).verdict] != "pass":
                    continue
                path = tmp_path / f"{stem}.{fmt}"
                path.write_bytes(data)
                info = slicer_info(path)
                lo, hi = res.stats.bbox_min, res.stats.bbox_max
                ours = [hi.x - lo.x, hi.y - lo.y, hi.z - lo.z]
                # stats are in metres, +Y up: build X, Y, Z = scene X, Z, Y
                assert [info["size_x"], info["size_y"], info["size_z"]] == pytest.approx(
                    [ours[0] * 1000, ours[2] * 1000, ours[1] * 1000], abs=0.1), stem
                slice_file(path, PRINTERS["prusa-mk4"])
                sliced.append(path.name)
    print("sliced:", sliced)
    assert len(sliced) >= 4, sliced  # at least two corpus meshes pass fdm as exported


def test_cli_export_fit_then_validate(server, imported, tmp_path):
    out = tmp_path / "horse.3mf"
    run = subprocess.run([*CLI, "export", f"print/horse@{imported['horse'].number}", "--format", "3mf", "--height-mm",
                          "80", "--orient", "auto", "-o", str(out), "--server", server.address],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([*CLI, "validate", str(out), "--profile", "fdm"], capture_output=True, text=True, timeout=300)
    assert "read as mm, Z up (3MF unit attribute 'millimeter')" in run.stdout
    assert "fits the" in run.stdout


def test_bad_units_axes_and_printers_are_invalid_argument_with_choices(server, imported):
    cow = (MESHES / "cow.obj").read_bytes()
    with server.client() as client:
        with pytest.raises(InvalidInput, match="mm, cm, m, in"):
            client.validate(cow, "cow.obj", ["fdm"], units="furlong")
        with pytest.raises(InvalidInput, match="y, z"):
            client.validate(cow, "cow.obj", ["fdm"], up="x")
        with pytest.raises(InvalidInput, match="mm, cm, m, in"):
            list(client._stream(client.ingest.Import, ingest_pb2.ImportRequest(asset="print/bad", mesh=cow,
                                                                              filename="cow.obj", units="ft")))
        with pytest.raises(InvalidInput, match="prusa-mk4, prusa-mini, bambu-x1c"):
            client.export("print/cow", "latest", "stl", fit="ender-3")
        with pytest.raises(InvalidInput, match="XxYxZ"):
            client.export("print/cow", "latest", "3mf", bed="big")
        with pytest.raises(InvalidInput, match="orient"):
            client.export("print/cow", "latest", "3mf", orient="best")
        with pytest.raises(InvalidInput, match="scale must be"):
            client.export("print/cow", "latest", "stl", scale=-1)


def test_import_stl_reads_millimetres_z_up(server, tmp_path):
    """An 80 mm Z-up STL becomes an 80 mm tall (+Y) asset; --units/--up override."""
    import trimesh

    box = trimesh.creation.box((40.0, 20.0, 80.0))  # mm, tall along Z
    with server.client() as client:
        for units, up, height in (("", "", 0.08), ("cm", "", 0.8), ("", "y", 0.02)):
            request = ingest_pb2.ImportRequest(asset="print/box", mesh=trimesh.exchange.stl.export_stl(box),
                                               filename="box.stl", lod_ratios=[1], units=units, up=up)
            version = [r.event for r in client._stream(client.ingest.Import, request)][-1].version
            assert version.stats.bbox_max.y - version.stats.bbox_min.y == pytest.approx(height, rel=1e-5)


@pytest.fixture(scope="module")
def litho(server):
    """A 150 mm lithophane generated from a full-frame picture (textured: the picture on its front)."""
    from tests.reconstruct.test_relief import _photo_600x400

    params = pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_RELIEF, lod_ratios=[1],
                               relief=pb.ReliefOptions(width_mm=150, min_mm=0.8, max_mm=3.2, frame_mm=4, invert=True))
    with server.client() as client:
        return client.generate(_photo_600x400(), "print/litho", params)


def test_relief_options_over_grpc(server, litho):
    """generate --mode relief with ReliefOptions: a 150 mm lithophane of a full-frame picture; bad sizes refused."""
    from tests.reconstruct.test_relief import _photo_600x400

    image = _photo_600x400()
    s = litho.stats
    w, h, t = (s.bbox_max.x - s.bbox_min.x) * 1000, (s.bbox_max.y - s.bbox_min.y) * 1000, (s.bbox_max.z - s.bbox_min.z) * 1000
    assert w == pytest.approx(150, abs=0.01) and t == pytest.approx(3.2, abs=0.05)
    assert (w - 8) / (h - 8) == pytest.approx(1.5, rel=0.01)
    with server.client() as client:
        bad = pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_RELIEF, relief=pb.ReliefOptions(min_mm=3, max_mm=2))
        with pytest.raises(InvalidInput, match="above min_mm"):
            client.generate(image, "print/litho", bad)
        with pytest.raises(InvalidInput, match="need mode relief"):
            client.generate(image, "print/litho", pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_INFLATE,
                                                                    relief=pb.ReliefOptions(width_mm=100)))


def test_relief_options_are_part_of_the_version(server, litho):
    """The millimetre options are recorded in the version's parameters: another max_mm is another version and
    history shows each one's values; the same options again reuse the version (idempotent)."""
    from tests.reconstruct.test_relief import _photo_600x400

    def params(max_mm: float) -> pb.GenerateParams:
        return pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_RELIEF, lod_ratios=[1], relief=pb.ReliefOptions(
            width_mm=150, min_mm=0.8, max_mm=max_mm, frame_mm=4, invert=True))

    with server.client() as client:
        again = client.generate(_photo_600x400(), "print/litho", params(3.2))
        thicker = client.generate(_photo_600x400(), "print/litho", params(4.0))
        history = {v.number: v for v in client.history("print/litho")}
    assert again.reused and again.number == litho.number
    assert not thicker.reused and thicker.number > litho.number
    s = thicker.stats
    assert (s.bbox_max.z - s.bbox_min.z) * 1000 == pytest.approx(4.0, abs=0.05)
    for number, max_mm in ((litho.number, 3.2), (thicker.number, 4.0)):
        relief = dict(history[number].parameters["relief"])
        assert relief == pytest.approx({"width_mm": 150, "min_mm": 0.8, "max_mm": max_mm, "frame_mm": 4, "invert": True})


def test_import_3mf_honours_unit_and_build_transform(server):
    """A 3MF in inches whose build item turns a 1x2x3 in box 90 deg about X: stored in metres, +Y up."""
    from tests.validation.test_threemf import _model, _package
    import trimesh

    box = trimesh.creation.box(bounds=[[0, 0, 0], [1, 2, 3]])
    verts = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in box.vertices.tolist())
    tris = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in box.faces.tolist())
    obj = f'<object id="1" type="model"><mesh><vertices>{verts}</vertices><triangles>{tris}</triangles></mesh></object>'
    # rows: x->x, y->z, z->-y (90 deg about X): the 2 in side stands up (Z), the 3 in side lies along -Y
    data = _package(_model(obj, '<item objectid="1" transform="1 0 0 0 0 1 0 -1 0 0 0 0"/>', unit="inch"))
    with server.client() as client:
        request = ingest_pb2.ImportRequest(asset="print/inchbox", mesh=data, filename="box.3mf", lod_ratios=[1])
        events = [r.event for r in client._stream(client.ingest.Import, request)]
        s = events[-1].version.stats
        size = [s.bbox_max.x - s.bbox_min.x, s.bbox_max.y - s.bbox_min.y, s.bbox_max.z - s.bbox_min.z]
        assert size == pytest.approx([0.0254, 0.0508, 0.0762], rel=1e-6)  # x 1 in, height (Y) 2 in, depth 3 in
        assert any("3MF unit attribute 'inch'" in e.message for e in events)


def test_cli_obj_export_carries_uvs_mtl_and_texture(server, litho, tmp_path):
    import trimesh

    out = tmp_path / "litho.obj"
    run = subprocess.run([*CLI, "export", f"print/litho@{litho.number}", "--format", "obj", "-o", str(out),
                          "--server", server.address], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "litho.mtl").is_file() and (tmp_path / "litho.png").is_file()
    assert "map_Kd litho.png" in (tmp_path / "litho.mtl").read_text()
    mesh = trimesh.load(out, force="mesh", process=False)
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals) and mesh.visual.uv is not None
    assert len(mesh.visual.uv) == len(mesh.vertices) and mesh.visual.material.image.size[0] >= 256
    assert mesh.extents[0] == pytest.approx(150, abs=0.01)  # millimetres
    from tests.validation.test_obj_consumers import ASSIMP

    if ASSIMP is not None:  # an outside reader sees the same faces and the renamed texture (assimp-utils)
        info = subprocess.run([ASSIMP, "info", out.name], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert info.returncode == 0, info.stderr[-800:]
        assert re.search(r"^Faces:\s+(\d+)$", info.stdout, re.M).group(1) == str(litho.stats.faces)
        assert re.findall(r"'([^']+)'", info.stdout.split("Texture Refs:", 1)[1].split("Node hierarchy")[0]) == ["litho.png"]
    run = subprocess.run([*CLI, "validate", str(out), "--profile", "fdm"], capture_output=True, text=True, timeout=300)
    assert "read as mm, Z up (file header)" in run.stdout and "fits the" in run.stdout

"""Loading, bad input, deterministic GLB and print exports."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
import trimesh

from meshsmith.errors import InvalidInput
from tests import hostile
from tests.conftest import MESHES
from tests.validation.conftest import SPOT
from validation import gltf_validator
from validation.formats import EXPORTERS, MeshLimits, check_geometry, export_glb, glb_json, load_mesh

CUBE = trimesh.creation.box(extents=(0.1, 0.2, 0.3))
needs_validator = pytest.mark.skipif(not gltf_validator.available(), reason="node + gltf-validator not installed")


@pytest.mark.parametrize("name", ["stanford-bunny.obj", "teapot.obj", "horse.ply", "woody.obj", "cow.obj", SPOT])
def test_corpus_loads(corpus, name):
    path = MESHES / name
    mesh = load_mesh(path.read_bytes(), path.name)
    assert len(mesh.faces) > 900 and np.isfinite(mesh.vertices).all()


@pytest.mark.parametrize("fmt", ["stl", "ply", "obj", "glb"])
def test_round_trip_each_format(fmt):
    data = CUBE.export(file_type=fmt)
    data = data.encode() if isinstance(data, str) else data
    mesh = load_mesh(data, f"cube.{fmt}")
    assert len(mesh.faces) == 12
    assert np.allclose(mesh.extents, CUBE.extents, atol=1e-6)


def test_off_ascii_stl_and_embedded_gltf():
    off = b"OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n"
    assert len(load_mesh(off, "tet.off").faces) == 4
    stl = trimesh.exchange.stl.export_stl_ascii(CUBE).encode()
    assert len(load_mesh(stl, "cube.stl").faces) == 12
    gltf = CUBE.export(file_type="gltf", embed_buffers=True)["model.gltf"]
    assert len(load_mesh(gltf, "cube.gltf").faces) == 12


def test_scene_is_concatenated_with_transforms():
    scene = trimesh.Scene()
    scene.add_geometry(CUBE, node_name="a", geom_name="cube")
    scene.add_geometry(CUBE, node_name="b", geom_name="cube", transform=trimesh.transformations.translation_matrix([1, 0, 0]))
    mesh = load_mesh(scene.export(file_type="glb"), "two.glb")
    assert len(mesh.faces) == 24
    assert mesh.bounds[1][0] == pytest.approx(1.05)


def _obj(vertices: str, faces: str) -> bytes:
    return (vertices + faces).encode()


@pytest.mark.parametrize(
    ("data", "name", "expect"),
    [
        (_obj("v 0 0 0\nv 1 0 0\nv nan 1 0\n", "f 1 2 3\n"), "nan.obj", "NaN"),
        (_obj("v 0 0 0\nv 1 0 0\nv inf 1 0\n", "f 1 2 3\n"), "inf.obj", "NaN or infinite"),
        (b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
         b"element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n",
         "bad.ply", "out of range"),
        (_obj("v 0 0 0\nv 1 0 0\nv 0 1 0\n", ""), "points.obj", "zero faces"),
        (b"", "empty.stl", "empty"),
        (b"solid x\n", "x.fbx", "unsupported mesh format"),
        (b'{"asset":{"version":"2.0"},"buffers":[{"uri":"mesh.bin","byteLength":4}]}', "ext.gltf", "external"),
        (b"\x00" * 10, "garbage.glb", "not a GLB"),
    ],
)
def test_bad_input_raises_invalid_input(data, name, expect):
    with pytest.raises(InvalidInput, match=expect):
        load_mesh(data, name)


@pytest.mark.parametrize("fmt", ["glb", "stl", "ply"])
def test_truncated_files_raise(fmt):
    mesh = trimesh.creation.icosphere(subdivisions=3)
    data = mesh.export(file_type=fmt)
    with pytest.raises(InvalidInput, match="truncated|corrupt|out of range"):
        load_mesh(data[: len(data) * 2 // 3], f"cut.{fmt}")


def test_too_many_faces_and_bytes():
    data = trimesh.creation.icosphere(subdivisions=2).export(file_type="stl")
    with pytest.raises(InvalidInput, match="too many faces"):
        load_mesh(data, "big.stl", MeshLimits(max_faces=100))
    with pytest.raises(InvalidInput, match="too many faces"):
        load_mesh(trimesh.creation.icosphere(subdivisions=2).export(file_type="obj").encode(), "big.obj", MeshLimits(max_faces=100))
    with pytest.raises(InvalidInput, match="too large"):
        load_mesh(data, "big.stl", MeshLimits(max_bytes=1000))
    forged = data[:80] + struct.pack("<I", 10**9) + data[84:]
    with pytest.raises(InvalidInput, match="too many faces"):
        load_mesh(forged, "forged.stl")


@needs_validator
@pytest.mark.parametrize("name", [SPOT, "stanford-bunny.obj"])
def test_export_glb_valid_and_deterministic(corpus_mesh, name):
    mesh = corpus_mesh(name)
    first, second = export_glb(mesh), export_glb(mesh)
    assert first == second
    report = gltf_validator.validate_glb(first)
    assert report.errors == 0, report.messages
    if name == SPOT:  # texture and UVs survive: TEXCOORD_0 + baseColorTexture + an embedded image
        tree = glb_json(first)
        assert "TEXCOORD_0" in tree["meshes"][0]["primitives"][0]["attributes"]
        assert tree["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]["index"] == 0
        back = load_mesh(first, "spot.glb")
        assert back.visual.uv is not None and back.visual.material.baseColorTexture.size == (1024, 1024)


def test_export_glb_same_bytes_in_a_fresh_mesh(corpus_mesh):
    mesh = corpus_mesh("cow.obj")
    copy = trimesh.Trimesh(vertices=mesh.vertices.copy(), faces=mesh.faces.copy(), process=False)
    assert export_glb(mesh) == export_glb(copy)


def _print_bbox(mesh: trimesh.Trimesh) -> np.ndarray:
    """Expected bounds in the print frame: mm, (x, y, z) -> (x, -z, y)."""
    lo, hi = mesh.bounds * 1000
    return np.array([[lo[0], -hi[2], lo[1]], [hi[0], -lo[2], hi[1]]])


def test_print_exports_are_mm_z_up():
    tall = trimesh.creation.box(extents=(0.02, 0.1, 0.03))  # 100 mm tall along glTF +Y
    tall.apply_translation([0, 0.05, 0])  # standing on the ground
    expected = _print_bbox(tall)
    for fmt in ("stl", "obj"):
        back = load_mesh(EXPORTERS[fmt](tall), f"x.{fmt}")
        assert np.allclose(back.bounds, expected, atol=1e-3), fmt
        assert back.extents[2] == pytest.approx(100, abs=1e-3)  # height is on Z
        assert back.volume > 0  # the rotation keeps faces outward
    with zipfile.ZipFile(io.BytesIO(EXPORTERS["3mf"](tall))) as z:
        root = ET.fromstring(z.read("3D/3dmodel.model"))
    assert root.get("unit") == "millimeter"
    ns = {"m": "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"}
    pts = np.array([[float(v.get(k)) for k in "xyz"] for v in root.iterfind(".//m:vertex", ns)])
    assert np.allclose([pts.min(axis=0), pts.max(axis=0)], expected, atol=1e-3)
    assert EXPORTERS["3mf"](tall) == EXPORTERS["3mf"](tall)
    assert len(load_mesh(EXPORTERS["ply"](tall), "x.ply").faces) == 12


def test_glb_face_count_checked_before_parsing():
    glb = export_glb(trimesh.creation.icosphere(subdivisions=3))  # 1,280 faces
    with pytest.raises(InvalidInput, match="header declares 1,280"):
        load_mesh(glb, "ball.glb", MeshLimits(max_faces=1000))


@needs_validator
def test_gltf_validator_session_survives_bad_input_and_a_dead_process():
    good = export_glb(CUBE)
    assert gltf_validator.validate_glb(good).errors == 0
    truncated = gltf_validator.validate_glb(good[: len(good) // 2])
    assert truncated.errors > 0 and truncated.messages[0].severity == 0
    assert gltf_validator.validate_glb(good).errors == 0  # the warm process answered both, in order
    gltf_validator._session.proc.kill()  # a Node crash: the next call starts a fresh process
    gltf_validator._session.proc.wait()
    assert gltf_validator.validate_glb(good).errors == 0


# ---- hostile structure (issue 9, items 6, 8, 9): lies and degenerate geometry -> InvalidInput with a reason

MESH_WORDS = {
    "glb: JSON chunk is [1,2,3]": "is a list, not an object",
    "glb: JSON nested 5000 deep": "nested 5001 levels deep",
    "glb: accessor count Infinity": "Infinity is not a JSON number",
    "glb: node cycle 0 -> 1 -> 0": "cycle",
    "glb: node is its own child": "cycle",
    "glb: node scale 0": "no faces with area",
    "glb: three identical vertices": "no faces with area",
    "glb: 3e38 coordinates": "coordinates up to 3e\\+38",
    "off: face declares 1000 vertices, lists 3": "declares 1000 vertices but lists 3",
    "obj: f 0 1 2 (OBJ indices start at 1)": "line 4 has a face with index 0",
    "obj: three identical vertices": "no faces with area",
    "obj: collinear triangle": "no faces with area",
    "stl: ascii collinear facet": "no faces with area",
}


@pytest.mark.parametrize("name, data, filename", hostile.hostile_meshes(), ids=[c[0] for c in hostile.hostile_meshes()])
def test_hostile_mesh_refused_with_reason(name, data, filename):
    with pytest.raises(InvalidInput, match=MESH_WORDS[name]):
        load_mesh(data, filename)


@pytest.mark.parametrize("name, data, filename", hostile.latin1_meshes(), ids=[c[0] for c in hostile.latin1_meshes()])
def test_latin1_text_meshes_load(name, data, filename):
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert len(load_mesh(data, filename).faces) == 4


def test_node_trees_deep_ok_shared_child_refused():
    nodes = [{"children": [i + 1]} for i in range(40)] + [{"mesh": 0, "scale": [2, 2, 2]}]
    mesh = load_mesh(hostile.triangle_glb(hostile.TRI, nodes=nodes), "x.glb")
    assert np.isclose(mesh.area, 2.0)  # 0.5 scaled by 2 x 2
    nodes = [{"children": [2]}, {"children": [2]}, {"mesh": 0}]
    with pytest.raises(InvalidInput, match="child of both node 0 and node 1"):
        load_mesh(hostile.triangle_glb(hostile.TRI, nodes=nodes), "x.glb")


def test_legal_obj_and_off_variants_still_load():
    obj = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0 0\n# f 0 1 2 (commented out)\nf -4/1 -3/1 -2/1\nf 1/1/1 2/1/1 4/1/1\nf 10 20 30\n"
    with pytest.raises(InvalidInput, match="out of (range|bounds)"):  # 10/20/30: not index 0, but missing vertices
        load_mesh(obj, "x.obj")
    assert len(load_mesh(obj.replace(b"f 10 20 30\n", b""), "x.obj").faces) == 2
    off = b"OFF\n# a comment\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2 255 0 0\n3 0 1 3\n"  # colour after indices
    assert len(load_mesh(off, "x.off").faces) == 2
    with pytest.raises(InvalidInput, match="truncated"):
        load_mesh(off[:-8], "x.off")
    some_degenerate = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 2 0 0\nf 1 2 3\nf 1 2 4\n"  # one real, one collinear: repair's job
    assert len(load_mesh(some_degenerate, "x.obj").faces) == 2


@pytest.mark.parametrize("scale, words", [(1e-300, "no faces with area"), (1e-12, "no faces with area"),
                                          (1e300, "infinite or NaN|coordinates up to")])
def test_check_geometry_after_unit_scale(scale, words):
    mesh = CUBE.copy()
    mesh.apply_scale(scale)
    with pytest.raises(InvalidInput, match=words):
        check_geometry(mesh, "the scaled mesh")
    check_geometry(CUBE)

"""The OBJ + MTL + texture export (`export --format obj`, gRPC `obj.zip`) read by programs other than meshsmith:
assimp (Debian assimp-utils, installed by `make install`) and, when it is installed, Blender 3.4 (Debian blender;
optional, not installed by make)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.server.test_import_asset import spot_zip
from validation import formats, materials
from validation.units import load_scene

ASSIMP = shutil.which("assimp")
BLENDER = shutil.which("blender")
needs_assimp = pytest.mark.skipif(ASSIMP is None, reason="assimp missing: `make install` installs assimp-utils")
needs_blender = pytest.mark.skipif(BLENDER is None, reason="blender missing (optional: apt-get install blender)")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The corpus spot with its 1024x1024 texture, exported as meshsmith's OBJ bundle and unzipped."""
    mesh, _ = load_scene(spot_zip(), "spot.zip")
    assert materials.kind(mesh) == "texture"
    folder = tmp_path_factory.mktemp("obj-bundle")
    with zipfile.ZipFile(io.BytesIO(formats.export_obj_zip(mesh))) as z:
        z.extractall(folder)
    return mesh, folder


def _assimp(*args: str, cwd) -> str:
    run = subprocess.run([ASSIMP, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert run.returncode == 0, (args, run.stdout[-800:], run.stderr[-800:])
    return run.stdout


@needs_assimp
def test_assimp_info_sees_the_mesh_its_material_and_texture(bundle):
    mesh, folder = bundle
    info = _assimp("info", "model.obj", cwd=folder)
    counts = {k: int(v) for k, v in re.findall(r"^(Meshes|Materials|Faces):\s+(\d+)$", info, re.M)}
    assert counts["Meshes"] == 1 and counts["Faces"] == len(mesh.faces) == 5856
    refs = info.split("Texture Refs:", 1)[1].split("Node hierarchy", 1)[0]
    assert re.findall(r"'([^']+)'", refs) == ["material.png"]


@needs_assimp
def test_assimp_export_carries_our_uvs_and_diffuse_texture(bundle):
    """`assimp export … -fassjson` dumps the scene assimp read: every face with our UVs, the texture as diffuse."""
    mesh, folder = bundle
    _assimp("export", "model.obj", "scene.json", "-fassjson", cwd=folder)
    scene = json.loads((folder / "scene.json").read_text())
    (read,) = scene["meshes"]
    faces = np.array(read["faces"])
    assert faces.shape == (len(mesh.faces), 3) and read["numuvcomponents"] == [2]
    uv = np.array(read["texturecoords"][0]).reshape(-1, 2)[faces]  # (F, 3, 2) per corner, as assimp read them
    assert np.allclose(uv, np.asarray(mesh.visual.uv)[mesh.faces], atol=1e-6)
    xyz = np.array(read["vertices"]).reshape(-1, 3)  # millimetres, Z up (the OBJ says so in its first line)
    assert np.allclose(np.ptp(xyz, axis=0), np.asarray(mesh.extents)[[0, 2, 1]] * 1000, rtol=1e-5)
    props = {p["key"]: p for p in scene["materials"][read["materialindex"]]["properties"]}
    assert props["?mat.name"]["value"] == "material"
    assert props["$tex.file"]["value"] == "material.png" and props["$tex.file"]["semantic"] == 1  # aiTextureType_DIFFUSE
    assert Image.open(folder / "material.png").size == mesh.visual.material.image.size == (1024, 1024)


BLENDER_SCRIPT = """
import bpy, json, sys
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.obj_import(filepath=sys.argv[-1], up_axis="Z", forward_axis="Y")
objs = [o for o in bpy.data.objects if o.type == "MESH"]
me = objs[0].data
mats = [m for m in me.materials if m]
nodes = [n for m in mats if m.use_nodes for n in m.node_tree.nodes if n.type == "TEX_IMAGE" and n.image]
print("MESHSMITH" + json.dumps({
    "objects": len(objs), "faces": len(me.polygons), "uv_layers": len(me.uv_layers),
    "uv": [list(d.uv) for d in me.uv_layers[0].data] if me.uv_layers else [],
    "materials": [m.name for m in mats],
    "images": [[bpy.path.basename(n.image.filepath), list(n.image.size)] for n in nodes],
}))
"""


@needs_blender
def test_blender_reads_the_obj_with_its_image_texture(bundle):
    mesh, folder = bundle
    run = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-expr", BLENDER_SCRIPT, "--",
                          str(folder / "model.obj")], capture_output=True, text=True, timeout=300)
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("MESHSMITH")), None)
    assert line is not None, (run.returncode, run.stdout[-1500:], run.stderr[-1500:])
    read = json.loads(line[len("MESHSMITH"):])
    assert read["objects"] == 1 and read["faces"] == len(mesh.faces) and read["uv_layers"] == 1
    # per face corner (loop), in our face order
    assert np.allclose(np.array(read["uv"]).reshape(-1, 3, 2), np.asarray(mesh.visual.uv)[mesh.faces], atol=1e-5)
    assert read["materials"] == ["material"] and read["images"] == [["material.png", [1024, 1024]]]

"""Zip bundles (a mesh + its side files): read with their textures, checked before anything is inflated."""

from __future__ import annotations

import io
import zipfile

import pytest

from meshsmith.errors import InvalidInput
from tests.server.test_import_asset import spot_zip
from validation import materials
from validation.formats import MeshLimits, load_mesh
from validation.units import load_scene


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


TRI = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


def test_obj_mtl_texture_bundle_loads_textured():
    mesh, frame = load_scene(spot_zip(), "spot.zip")
    assert materials.kind(mesh) == "texture" and mesh.visual.material.image.size == (1024, 1024)
    assert frame.source == "convention of .obj" and len(mesh.faces) == 5856


def test_without_mtl_the_obj_still_loads_untextured():
    mesh, _ = load_scene(spot_zip(mtl=False), "spot.zip")
    assert materials.kind(mesh) != "texture" and len(mesh.faces) == 5856


def test_meshsmith_obj_header_inside_a_bundle_sets_the_frame():
    _, frame = load_scene(_zip({"m.obj": b"# meshsmith frame: units=mm up=z\n" + TRI}), "m.zip")
    assert (frame.units, frame.up, frame.source) == ("mm", "z", "file header")


@pytest.mark.parametrize("files, words", [
    ({"a.obj": TRI, "b.obj": TRI}, "exactly one mesh file"),
    ({"notes.txt": b"hi"}, "exactly one mesh file"),
    ({f"t{i}.png": b"x" for i in range(300)} | {"a.obj": TRI}, "at most 256"),
    ({"a.obj": TRI, "big.png": b"\0" * 200_000}, "unpacks to 200,"),  # a bomb: small zipped, big unpacked
    ({"a.obj": b""}, "is empty"),
])
def test_bad_bundles_are_refused_with_a_reason(files, words):
    with pytest.raises(InvalidInput, match=words):
        load_mesh(_zip(files), "bundle.zip", MeshLimits(max_bytes=100_000))

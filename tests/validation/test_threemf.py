"""Issue 11 item 2: 3MF core read (objects, components, build transforms, unit) with hostile-file limits."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import trimesh

from meshsmith.errors import InvalidInput
from validation import formats, units
from validation.threemf import load_3mf

NS = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
CUBE_V = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x in (0, 1) for y in (0, 1) for z in (0, 1))
CUBE_T = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in trimesh.creation.box(bounds=[[0] * 3, [1] * 3]).faces.tolist())


def _package(model: str, extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", formats._3MF_TYPES)
        z.writestr("_rels/.rels", formats._3MF_RELS)
        z.writestr("3D/3dmodel.model", model)
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return buf.getvalue()


def _model(resources: str, build: str, unit: str = "millimeter", head: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{head}<model unit="{unit}" xmlns="{NS}"><resources>{resources}'
            f"</resources><build>{build}</build></model>")


CUBE = f'<object id="1" type="model"><mesh><vertices>{CUBE_V}</vertices><triangles>{CUBE_T}</triangles></mesh></object>'


def test_written_3mf_reads_back_the_same_mesh(corpus_mesh):
    scene = corpus_mesh("cow.obj")
    mesh, frame = units.load_scene(formats.export_3mf(scene), "cow.3mf")
    assert frame.source == "3MF unit attribute 'millimeter'"
    assert len(mesh.faces) == len(scene.faces)
    # same triangles in the same order, to the 6 significant digits written
    assert np.abs(mesh.triangles - scene.triangles).max() < 1e-5 * np.linalg.norm(scene.extents)
    assert np.isclose(mesh.volume, scene.volume, rtol=1e-4)


def test_units_components_and_build_transforms():
    # object 2 = two cubes from object 1 (one moved 2 units along x); build: object 2 moved 10 along z, and a
    # scaled (x3) plain cube; all in inches
    res = CUBE + ('<object id="2" type="model"><components><component objectid="1"/>'
                  '<component objectid="1" transform="1 0 0 0 1 0 0 0 1 2 0 0"/></components></object>')
    build = '<item objectid="2" transform="1 0 0 0 1 0 0 0 1 0 0 10"/><item objectid="1" transform="3 0 0 0 3 0 0 0 3 -5 0 0"/>'
    mesh, unit = load_3mf(_package(_model(res, build, unit="inch")), 2**20, 1000)
    assert unit == "inch" and len(mesh.faces) == 36
    assert np.allclose(mesh.bounds, np.array([[-5, 0, 0], [3, 3, 11]]) * 25.4)
    scene, frame = units.load_scene(_package(_model(res, build, unit="inch")), "a.3mf")
    assert np.allclose(scene.extents, np.array([8, 11, 3]) * 0.0254)  # metres, Z became Y
    # a rotation in the build transform is honoured: 90 deg about Z turns the x offset into y
    mesh, _ = load_3mf(_package(_model(CUBE, '<item objectid="1" transform="0 1 0 -1 0 0 0 0 1 0 0 0"/>')), 2**20, 100)
    assert np.allclose(mesh.bounds, [[-1, 0, 0], [0, 1, 1]])


@pytest.mark.parametrize("model, match", [
    (_model(CUBE, '<item objectid="1"/>', head='<!DOCTYPE m [<!ENTITY a "aaaa">]>'), "DTD"),
    (_model(CUBE + '<object id="2"><components><component objectid="3"/></components></object>'
            '<object id="3"><components><component objectid="2"/></components></object>', '<item objectid="2"/>'), "cycle"),
    (_model(CUBE, '<item objectid="9"/>'), "object '9'"),
    (_model(CUBE, '<item objectid="1"/>', unit="furlong"), "micron, millimeter"),
    (_model(CUBE, '<item objectid="1" transform="1 0 0"/>'), "12"),
    (_model(CUBE, ""), "no triangles"),
])
def test_hostile_or_broken_3mf_is_refused_with_a_reason(model, match):
    with pytest.raises(InvalidInput, match=match):
        load_3mf(_package(model), 2**20, 1000)


def test_3mf_limits_bombs_and_instancing():
    bomb = _package(_model(CUBE, '<item objectid="1"/>') + " " * (8 * 2**20))
    with pytest.raises(InvalidInput, match="unpacks to"):
        load_3mf(bomb, 4 * 2**20, 1000)
    # 10 nested levels of 4 instances each: 4^10 cubes from a few hundred bytes
    res = CUBE + "".join(f'<object id="{i + 2}"><components>' + f'<component objectid="{i + 1}"/>' * 4 +
                         "</components></object>" for i in range(10))
    with pytest.raises(InvalidInput, match="too many faces"):
        load_3mf(_package(_model(res, '<item objectid="11"/>')), 2**20, 100_000)
    with pytest.raises(InvalidInput, match="not a 3MF"):
        load_3mf(b"PK\x03\x04 not really", 2**20, 10)

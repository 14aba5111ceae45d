"""Issue 11 item 1: units and up axis on read; checks measured in the build frame (mm, Z up)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from meshsmith.errors import InvalidInput
from validation import formats, units
from validation.report import validate

CLI = [sys.executable, "-m", "meshsmith_client"]


def _teapot_80mm(corpus_mesh) -> trimesh.Trimesh:
    """The corpus teapot, 80 mm tall, +Y up, in metres (what a stored asset is)."""
    m = corpus_mesh("teapot.obj")
    m.apply_scale(0.08 / m.extents[1])
    return m


def _by_id(report) -> dict:
    return {c.id: c for c in report.checks}


def test_stl_written_by_meshsmith_reads_back_in_millimetres_z_up(corpus_mesh):
    scene = _teapot_80mm(corpus_mesh)
    mesh, frame = units.load_scene(formats.export_stl(scene), "teapot.stl")
    assert (frame.units, frame.up, frame.source) == ("mm", "z", "convention of .stl")
    assert np.allclose(mesh.extents, scene.extents, rtol=1e-5)  # 80 mm, not 80 m
    stored, read = _by_id(validate(scene, "fdm")), _by_id(validate(mesh, "fdm"))
    assert read["build.volume"].level == "pass" and read["units.bbox"].level == "pass"
    # overhang measured about -Z of the print, the same share as for the stored (Y-up) asset
    assert read["overhang.share"].value == pytest.approx(stored["overhang.share"].value, abs=0.05)
    assert read["thickness.min"].level == stored["thickness.min"].level


def test_a_z_up_stl_has_its_overhang_measured_about_z(corpus_mesh):
    """A cone standing on its base in a Z-up STL needs no support; read as Y-up it would lie on its side."""
    cone = trimesh.creation.cone(radius=20.0, height=40.0, sections=64)  # millimetres, apex +Z
    data = trimesh.exchange.stl.export_stl(cone)
    mesh, _ = units.load_scene(data, "cone.stl")
    checks = _by_id(validate(mesh, "fdm"))
    assert checks["overhang.share"].value < 1.0  # only the base faces down, and it lies on the bed
    assert np.allclose(formats.print_frame(mesh).extents, cone.extents, rtol=1e-6)  # the height stays on Z
    tall = trimesh.creation.box((20.0, 20.0, 215.0))  # fits MK4's 220 mm Z only if Z is the height axis
    fits, _ = units.load_scene(trimesh.exchange.stl.export_stl(tall), "tall.stl")
    assert _by_id(validate(fits, "fdm"))["build.volume"].level == "pass"


@pytest.mark.parametrize("ext, expected", [("stl", ("mm", "z")), ("3mf", ("mm", "z")), ("obj", ("m", "y")),
                                           ("ply", ("m", "y")), ("glb", ("m", "y"))])
def test_each_format_reads_back_what_meshsmith_wrote(ext, expected, corpus_mesh):
    scene = _teapot_80mm(corpus_mesh)
    mesh, frame = units.load_scene(formats.EXPORTERS[ext](scene), f"t.{ext}")
    assert np.allclose(mesh.bounds, scene.bounds, atol=1e-6)
    # meshsmith's OBJ is written for slicers (mm, Z up) and says so in its first line
    assert (frame.units, frame.up) == (("mm", "z") if ext == "obj" else expected)


def test_given_units_and_up_override_the_convention():
    box = trimesh.creation.box((10.0, 20.0, 30.0))
    data = trimesh.exchange.obj.export_obj(box).encode()
    mesh, frame = units.load_scene(data, "b.obj", "cm", "z")
    assert frame.source == "given" and frame.describe() == "read as cm, Z up (given)"
    assert np.allclose(mesh.extents, [0.1, 0.3, 0.2])  # Z (30 cm) became the height (Y)
    mesh, frame = units.load_scene(data, "b.obj", "in")
    assert np.allclose(mesh.extents, np.array([10, 20, 30]) * 0.0254) and frame.up == "y"


@pytest.mark.parametrize("kw, listed", [({"units": "km"}, "mm, cm, m, in"), ({"up": "x"}, "y, z")])
def test_bad_units_or_axis_list_the_choices(kw, listed):
    with pytest.raises(InvalidInput, match=listed):
        units.load_scene(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "t.obj", **kw)


def test_cli_validate_states_its_assumption_and_takes_units(tmp_path, corpus_mesh):
    path = tmp_path / "teapot.stl"
    path.write_bytes(formats.export_stl(_teapot_80mm(corpus_mesh)))
    run = subprocess.run([*CLI, "validate", str(path), "--profile", "fdm", "--json"], capture_output=True, text=True,
                         timeout=300)
    out = json.loads(run.stdout)
    assert out["frame"]["description"] == "read as mm, Z up (convention of .stl)"
    assert {c["id"]: c["level"] for c in out["report"]["checks"]}["build.volume"] == "pass"
    run = subprocess.run([*CLI, "validate", str(path), "--profile", "fdm", "--units", "cm"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 1 and "read as cm, Z up (given, convention of .stl)" in run.stdout
    assert "does not fit" in run.stdout  # 80 cm
    run = subprocess.run([*CLI, "validate", str(path), "--units", "km"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "mm" in run.stderr and "in" in run.stderr

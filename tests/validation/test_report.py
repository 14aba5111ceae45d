"""Profiles on the real corpus: verdicts, check data, and the proto contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import trimesh

from meshsmith.errors import InvalidInput
from meshsmith.v1 import types_pb2
from tests.validation.conftest import SPOT
from validation import gltf_validator
from validation.formats import export_glb
from validation.profiles import PROFILES
from validation.repair import RepairLog
from validation.report import Check, MeshStats, Report, mesh_stats, validate

# verdicts of the corpus as shipped (no repair)
EXPECTED = {
    "stanford-bunny.obj": {"default": "warn", "unity-pc": "warn", "unity-mobile": "warn", "webgl": "warn", "fdm": "fail", "sla": "fail"},
    "horse.ply": {"default": "fail", "unity-pc": "fail", "webgl": "fail", "fdm": "fail"},  # inside-out
    "teapot.obj": {"default": "fail", "fdm": "fail"},  # non-manifold vertex, 4 open bodies
    "woody.obj": {"default": "warn", "unity-pc": "warn", "fdm": "fail", "sla": "fail"},  # flat
    "homer.obj": {"default": "pass", "unity-pc": "pass", "unity-mobile": "pass", "webgl": "pass", "fdm": "fail"},  # 0.84 m
    "fandisk.obj": {"default": "pass", "webgl": "pass", "sla": "fail"},
    SPOT: {"default": "pass", "unity-pc": "pass", "unity-mobile": "pass", "webgl": "pass"},
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_corpus_verdicts(corpus_mesh, name):
    mesh = corpus_mesh(name)
    for profile, verdict in EXPECTED[name].items():
        report = validate(mesh, profile)
        assert report.verdict == verdict, (profile, [c for c in report.checks if c.level != "pass"])


def _check(report: Report, check_id: str) -> Check:
    return next(c for c in report.checks if c.id == check_id)


def test_default_profile_checks(corpus_mesh):
    bunny = validate(corpus_mesh("stanford-bunny.obj"))
    ids = [c.id for c in bunny.checks]
    assert list(PROFILES)[0] == "default"
    for check_id in ("watertight", "manifold", "winding", "volume.positive", "bodies", "units.bbox", "faces.count", "vertices.count"):
        assert check_id in ids
    wt = _check(bunny, "watertight")
    assert (wt.level, wt.value, wt.unit) == ("warn", 223, "edges") and "repair" in wt.message
    horse = _check(validate(corpus_mesh("horse.ply")), "volume.positive")
    assert horse.level == "fail" and horse.value < 0 and "inside-out" in horse.message
    teapot = validate(corpus_mesh("teapot.obj"))
    assert _check(teapot, "bodies").level == "warn" and _check(teapot, "bodies").value == 4
    woody = _check(validate(corpus_mesh("woody.obj")), "units.bbox")
    assert woody.level == "warn" and woody.value == pytest.approx(404, rel=0.01) and "millimetres" in woody.message


def test_stats(corpus_mesh):
    spot = mesh_stats(corpus_mesh(SPOT))
    assert spot.watertight and spot.two_manifold and spot.winding_consistent and spot.bodies == 1
    assert spot.texture_size == 1024 and spot.volume_m3 > 0 and spot.faces == 5856
    assert spot.bbox_max[1] - spot.bbox_min[1] == pytest.approx(1.69, abs=0.01)
    horse = mesh_stats(corpus_mesh("horse.ply"))
    assert horse.watertight and horse.winding_consistent and horse.volume_m3 < 0
    cube = mesh_stats(trimesh.creation.box(extents=(1, 2, 3)))
    assert cube.volume_m3 == pytest.approx(6) and cube.area_m2 == pytest.approx(22)


def test_woody_fails_printing_and_says_why(corpus_mesh):
    report = validate(corpus_mesh("woody.obj"), "fdm")
    assert report.verdict == "fail"
    thick = _check(report, "thickness.min")
    assert thick.level == "fail" and thick.value == 0 and "flat" in thick.message and "thickness" in thick.message


def test_print_profiles_on_a_fitting_solid(corpus_mesh):
    homer = corpus_mesh("homer.obj")
    homer.apply_scale(0.1)  # 84 mm tall
    for profile in ("fdm", "sla"):
        report = validate(homer, profile)
        assert report.verdict == "pass", [c for c in report.checks if c.level != "pass"]
        ids = {c.id for c in report.checks}
        assert {"build.volume", "self_intersections", "thickness.min", "overhang.share"} <= ids
        overhang = _check(report, "overhang.share")
        assert 0 < overhang.value < 100 and overhang.unit == "%"


def test_thin_wall_fails_fdm_passes_sla():
    plate = trimesh.creation.box(extents=(0.05, 0.0006, 0.05))  # 0.6 mm wall, 50 mm square
    fdm, sla = validate(plate, "fdm"), validate(plate, "sla")
    assert _check(fdm, "thickness.min").level == "fail" and _check(fdm, "thickness.min").threshold == 0.8
    assert _check(sla, "thickness.min").level == "pass"


def test_build_volume_and_self_intersections():
    big = trimesh.creation.box(extents=(0.3, 0.1, 0.1))  # 300 mm long: too big for 250 x 210 mm
    check = _check(validate(big, "fdm"), "build.volume")
    assert check.level == "fail" and check.value == pytest.approx(1.2) and "scale" in check.message
    a = trimesh.creation.box(extents=(0.02, 0.02, 0.02))
    b = a.copy().apply_translation([0.01, 0.01, 0.01])
    crossing = trimesh.util.concatenate([a, b])
    assert _check(validate(crossing, "fdm"), "self_intersections").value > 0


def test_game_budgets():
    sphere = trimesh.creation.icosphere(subdivisions=6)  # 81,920 faces, 40,962 vertices
    mobile = validate(sphere, "unity-mobile")
    assert _check(mobile, "faces.count").level == "warn"
    assert _check(mobile, "vertices.per_mesh").level == "pass"
    webgl = _check(validate(sphere, "webgl"), "faces.count")
    assert (webgl.level, webgl.threshold) == ("pass", 100_000)
    tri = sphere.triangles[:22_000].reshape(-1, 3)  # a triangle soup: 66,000 vertices
    soup = trimesh.Trimesh(vertices=tri, faces=np.arange(len(tri)).reshape(-1, 3), process=False)
    per_mesh = _check(validate(soup, "unity-mobile"), "vertices.per_mesh")
    assert (per_mesh.level, per_mesh.value, per_mesh.threshold) == ("fail", 66_000, 65_535)
    lying = trimesh.creation.box(extents=(0.3, 0.1, 1.0))  # deep along Z: authored Z-up?
    assert _check(validate(lying, "unity-pc"), "up.axis").level == "warn"


def test_unknown_profile():
    with pytest.raises(InvalidInput, match="unity-pc"):
        validate(trimesh.creation.box(), "unity-console")


@pytest.mark.skipif(not gltf_validator.available(), reason="node + gltf-validator not installed")
def test_glb_adds_gltf_validator_checks(corpus_mesh):
    mesh = corpus_mesh(SPOT)
    report = validate(mesh, "webgl", glb=export_glb(mesh))
    assert _check(report, "gltf.errors").level == "pass"
    broken = bytearray(export_glb(mesh))
    broken[-4:] = b"\xff\xff\xff\xff"  # corrupt the binary chunk's tail
    report = validate(mesh, "default", glb=bytes(broken))
    assert {c.id for c in report.checks} >= {"gltf.errors", "gltf.warnings"}


def test_every_check_is_complete_data(corpus_mesh):
    for profile in PROFILES:
        for c in validate(corpus_mesh("stanford-bunny.obj"), profile).checks:
            assert c.id and c.level in ("pass", "warn", "fail") and c.unit and c.message
            assert np.isfinite(c.value) and np.isfinite(c.threshold)


def _proto_fields(message) -> list[str]:
    return [f.name for f in message.DESCRIPTOR.fields]


def test_field_names_match_the_proto():
    assert [f.name for f in dataclasses.fields(MeshStats)] == _proto_fields(types_pb2.MeshStats)
    assert [f.name for f in dataclasses.fields(Check)] == _proto_fields(types_pb2.Check)
    assert [f.name for f in dataclasses.fields(Report)] == _proto_fields(types_pb2.ValidationReport)
    assert [f.name for f in dataclasses.fields(RepairLog)] == _proto_fields(types_pb2.RepairLog)

"""proto <-> domain conversions round-trip without loss."""

from __future__ import annotations

import pytest

from meshsmith.errors import InvalidInput
from meshsmith.v1 import types_pb2 as pb
from server import convert

STATS = {
    "faces": 19998, "vertices": 10001, "watertight": True, "two_manifold": True, "winding_consistent": True,
    "volume_m3": 0.0123, "bodies": 1, "bbox_min": (-0.25, 0.0, -0.1), "bbox_max": (0.25, 1.0, 0.1),
    "area_m2": 1.5, "texture_size": 1024,
}
REPORT = {
    "profile": "default", "verdict": "warn", "stats": STATS,
    "checks": [
        {"id": "watertight", "level": "pass", "value": 1.0, "threshold": 1.0, "unit": "", "message": "closed"},
        {"id": "bodies", "level": "warn", "value": 2.0, "threshold": 1.0, "unit": "bodies", "message": "2 bodies"},
    ],
}
REPAIR = {
    "parts_before": 4, "parts_after": 1, "open_edges_before": 12, "open_edges_after": 0, "edges_fixed": 3,
    "vertices_merged": 7, "faces_removed": 2, "faces_added": 20, "faces_reversed": 100, "holes_closed": 2,
    "notes": ["closed 2 holes"],
}


def test_stats_round_trip():
    assert convert.stats_from_pb(convert.stats_to_pb(STATS)) == STATS


def test_report_round_trip():
    msg = convert.report_to_pb(REPORT)
    assert msg.verdict == pb.CHECK_LEVEL_WARN and msg.checks[1].level == pb.CHECK_LEVEL_WARN
    assert convert.report_from_pb(msg) == REPORT


def test_repair_round_trip():
    assert convert.repair_from_pb(convert.repair_to_pb(REPAIR)) == REPAIR


def test_generate_params_defaults_and_bounds():
    rec, dec, profiles, lods = convert.generate_params(pb.GenerateParams(), default_faces=20000)
    assert (rec.mode, rec.target_height_m, rec.target_width_m, rec.texture_size, dec.target_faces) == ("auto", 1.0, None, 1024, 20000)
    assert lods == (1.0, 0.5, 0.25, 0.1)
    rec, dec, profiles, lods = convert.generate_params(
        pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_REVOLVE, target_width_m=0.3, target_faces=5000, profiles=["fdm"],
                          lod_ratios=[0.2]), 20000
    )
    assert (rec.mode, rec.target_height_m, rec.target_width_m, dec.target_faces, profiles) == ("revolve", None, 0.3, 5000, ("fdm",))
    assert lods == (1.0, 0.2)
    assert not rec.symmetric and "symmetric" not in convert.parameters_dict(rec, dec, profiles, lods)
    rec, dec, profiles, lods = convert.generate_params(pb.GenerateParams(symmetric=True), 20000)
    assert rec.symmetric and convert.parameters_dict(rec, dec, profiles, lods)["symmetric"] is True
    for bad in (pb.GenerateParams(target_faces=2), pb.GenerateParams(target_height_m=-1), pb.GenerateParams(texture_size=100000),
                pb.GenerateParams(profiles=["ps5"]), pb.GenerateParams(lod_ratios=[0]), pb.GenerateParams(lod_ratios=[2.0])):
        with pytest.raises(InvalidInput):
            convert.generate_params(bad, 20000)


def test_mode_names_cover_the_enum():
    assert set(convert.MODES) == set(pb.ReconstructMode.values())


def test_diff_round_trip_keeps_lineage_metrics_parameters_and_checks():
    from registry import CheckChange, LineageChange, MetricDelta, ParamChange, VersionDiff

    d = VersionDiff(
        "props/chair", 1, 2,
        metrics=(MetricDelta("faces", 1000.0, 4000.0, 3000.0), MetricDelta("texture_size", None, 512.0, None)),
        parameters=(ParamChange("backend.device", None, "cuda"), ParamChange("target_faces", 1000, 4000),
                    ParamChange("lod_ratios", [1.0, 0.5], [1.0])),
        checks=(CheckChange("default", "verdict", "pass", "warn"), CheckChange("fdm", "thickness.min", None, "fail")),
        artifacts_changed=("glb#lod0", "source"),
        lineage=(LineageChange("backend", "geometry", "shap-e"), LineageChange("model_id", "", "openai/shap-e-img2img"),
                 LineageChange("weights_sha256", "", "f" * 64), LineageChange("device", "", "cuda"),
                 LineageChange("seed", "0", "7"), LineageChange("caption", "", "a red chair"),
                 LineageChange("caption_tags", "", "red, chair")))
    msg = convert.diff_to_pb(d)
    assert [(c.field, c.before, c.after) for c in msg.lineage][:2] == [("backend", "geometry", "shap-e"),
                                                                         ("model_id", "", "openai/shap-e-img2img")]
    assert convert.diff_from_pb(msg) == d
    assert convert.diff_to_pb(convert.diff_from_pb(msg)) == msg


def test_relief_record_is_the_resolved_millimetre_options():
    relief = pb.RECONSTRUCT_MODE_RELIEF
    assert convert.relief_record(pb.GenerateParams(mode=relief)) is None  # none given: earlier keys stay
    assert convert.relief_record(pb.GenerateParams(mode=relief, relief=pb.ReliefOptions())) is None
    got = convert.relief_record(pb.GenerateParams(mode=relief, relief=pb.ReliefOptions(max_mm=3.2, invert=True)))
    assert got == {"width_mm": None, "min_mm": None, "max_mm": pytest.approx(3.2), "frame_mm": 0.0, "invert": True}

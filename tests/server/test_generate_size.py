"""Issue 18 item 7: a generated asset says when its size was assumed, a new version keeps its predecessor's real size,
and an extrusion's assumed depth follows its outline. Real server, real corpus pictures and meshes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format

from meshsmith.v1 import ingest_pb2
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, MESHES

ROOT = Path(__file__).resolve().parents[2]
QUICK = {"target_faces": 2000, "lod_ratios": [1.0]}


def _generate(client, image: str, asset: str, **params) -> tuple[pb.Version, list[pb.JobEvent]]:
    events: list[pb.JobEvent] = []
    version = client.generate((IMAGES / image).read_bytes(), asset, pb.GenerateParams(**QUICK, **params),
                              on_event=events.append, author="tester")
    return version, events


def _size_notes(events) -> list[str]:
    return [e.message for e in events if e.stage == "size"]


def _record(version: pb.Version) -> dict:
    return json_format.MessageToDict(version.parameters).get("size", {})


def _extents(version: pb.Version) -> tuple[float, float, float]:
    lo, hi = version.stats.bbox_min, version.stats.bbox_max
    return hi.x - lo.x, hi.y - lo.y, hi.z - lo.z


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshsmith_client", *args, "--server", server.address],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_an_assumed_size_is_said_in_the_stream_and_recorded_and_a_given_one_is_not(server):
    with server.client() as client:
        assumed, events = _generate(client, "chair.png", "size/assumed-chair")
        given, given_events = _generate(client, "chair.png", "size/given-chair", target_height_m=0.45)
        history = client.history("size/assumed-chair")
        latest = client.get_asset("size/assumed-chair").latest

    notes = _size_notes(events)
    assert len(notes) == 1 and notes[0].startswith("size assumed: 1.00 m tall (no --height/--width given)"), notes
    assert "pass --height M" in notes[0]
    assert _extents(assumed)[1] == pytest.approx(1.0, rel=1e-3)
    for v in (assumed, history[0], latest):  # the stream's version, ListVersions and GetAsset say the same
        record = _record(v)
        assert record["assumed"] is True and record["source"] == "assumed" and record["note"] == notes[0], record
    listed = json.loads(_cli(server, "history", "size/assumed-chair", "--json").stdout)
    assert listed[0]["parameters"]["size"]["assumed"] is True
    assert "size-assumed" in _cli(server, "history", "size/assumed-chair").stdout

    assert not any("assumed" in e.message for e in given_events), [e.message for e in given_events]
    assert _record(given) == {"assumed": False, "source": "given"}
    assert _extents(given)[1] == pytest.approx(0.45, rel=1e-3)
    assert "size-assumed" not in _cli(server, "history", "size/given-chair").stdout


def test_a_new_version_keeps_the_latest_versions_real_size_unless_told(server):
    asset = "size/kept-chair"
    with server.client() as client:
        first, _ = _generate(client, "chair.png", asset, target_height_m=0.32)
        second, events = _generate(client, "chair_armed.png", asset)  # a new picture, no size
        third, third_events = _generate(client, "chair_wood.jpg", asset, target_height_m=0.8)  # explicit wins
        fourth, _ = _generate(client, "chair_armed.png", asset, seed=1)  # keeps the third's

    assert _extents(first)[1] == pytest.approx(0.32, rel=1e-3)
    assert _extents(second)[1] == pytest.approx(0.32, rel=0.01)
    assert _size_notes(events) == ["size kept from version 1: 0.32 m tall; pass --height M to change it"]
    record = _record(second)
    assert (record["assumed"], record["source"], record["from_version"]) == (False, "kept", 1), record
    assert json_format.MessageToDict(second.parameters)["target_height_m"] == pytest.approx(0.32)
    assert _extents(third)[1] == pytest.approx(0.8, rel=1e-3) and not _size_notes(third_events)
    assert _extents(fourth)[1] == pytest.approx(0.8, rel=0.01) and _record(fourth)["from_version"] == 3


def test_an_assumed_size_stays_assumed_and_an_imported_size_is_kept(server):
    with server.client() as client:
        client.generate((IMAGES / "teapot.png").read_bytes(), "size/still-assumed", pb.GenerateParams(**QUICK))
        again, events = _generate(client, "teapot.png", "size/still-assumed", seed=3)
        request = ingest_pb2.ImportRequest(asset="size/imported-bunny", mesh=(MESHES / "stanford-bunny.obj").read_bytes(),
                                           filename="stanford-bunny.obj", lod_ratios=[1])
        imported = [r.event for r in client._stream(client.ingest.Import, request)][-1].version
        regenerated, kept_events = _generate(client, "teapot.png", "size/imported-bunny")

    assert _size_notes(events)[0].startswith("size assumed: 1.00 m tall, as version 1's was")
    assert _record(again)["assumed"] is True and _extents(again)[1] == pytest.approx(1.0, rel=1e-3)
    height = _extents(imported)[1]
    assert height < 0.5  # the bunny file is in metres: about 15 cm, far from the 1 m default
    assert _extents(regenerated)[1] == pytest.approx(height, rel=0.01)
    assert _size_notes(kept_events)[0].startswith("size kept from version 1 (imported): ")
    assert _record(regenerated)["assumed"] is False


def test_an_extrusions_assumed_depth_follows_its_outline_and_is_said(server):
    with server.client() as client:
        slab, events = _generate(client, "teasure_chest.jpg", "size/extruded-chest", mode=pb.RECONSTRUCT_MODE_EXTRUDE)
        given, given_events = _generate(client, "teasure_chest.jpg", "size/extruded-chest-given",
                                        mode=pb.RECONSTRUCT_MODE_EXTRUDE, target_height_m=0.5, depth_m=0.3)
    x, y, z = _extents(slab)
    assert z == pytest.approx(0.25 * min(x, y), rel=0.05), (x, y, z)  # not 10% of the assumed 1 m height
    note = _size_notes(events)[0]
    assert "size assumed: 1.00 m tall" in note and f"depth assumed: {z:.2f} m, 25% of the outline's shorter side" in note
    assert _record(slab)["depth_assumed"] is True
    assert _extents(given)[2] == pytest.approx(0.3, rel=1e-3) and not _size_notes(given_events)

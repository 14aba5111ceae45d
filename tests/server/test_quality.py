"""Issue 19 item 4: every single-view version says its back was inferred, with auto's confidence (a "quality"
event, parameters.quality, history --json, the web app), and `--require-real-back` fails it. Real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from google.protobuf import json_format

from meshsmith.v1 import types_pb2 as pb
from server.quality import describe
from tests.conftest import IMAGES

ROOT = Path(__file__).resolve().parents[2]
QUICK = {"target_faces": 2000, "lod_ratios": [1.0]}


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshsmith_client", *args, "--server", server.address],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)


def test_a_single_view_version_says_its_back_was_inferred_and_real_back_fails_it(server):
    events: list[pb.JobEvent] = []
    with server.client() as client:
        version = client.generate((IMAGES / "teapot.png").read_bytes(), "quality/teapot",
                                  pb.GenerateParams(**QUICK, profiles=["real-back"]), on_event=events.append,
                                  author="tester")
        history = client.history("quality/teapot")
    said = [e.message for e in events if e.stage == "quality"]
    assert len(said) == 1 and said[0].startswith("the back was inferred from one picture, not seen"), said
    reconstruct = next(e.message for e in events if e.stage == "reconstruct")
    for v in (version, history[0]):
        q = json_format.MessageToDict(v.parameters)["quality"]
        assert q["back"] == "inferred" and q["source"] == "one picture" and q["notes"], q
        assert f"(confidence {q['confidence']:.2f})" in reconstruct        # auto's own confidence
    reports = {r.profile: r for r in version.reports}
    assert set(reports) == {"default", "real-back"}
    assert reports["default"].verdict == pb.CHECK_LEVEL_PASS
    check = next(c for c in reports["real-back"].checks if c.id == "back.real")
    assert check.level == pb.CHECK_LEVEL_FAIL and reports["real-back"].verdict == pb.CHECK_LEVEL_FAIL
    listed = json.loads(_cli(server, "history", "quality/teapot", "--json").stdout)
    assert listed[0]["parameters"]["quality"]["back"] == "inferred"
    assert "back-inferred" in _cli(server, "history", "quality/teapot").stdout


def test_require_real_back_flag_adds_the_failing_profile(server):
    run = _cli(server, "generate", str(IMAGES / "chair.png"), "--name", "quality/chair", "--faces", "2000",
               "--require-real-back", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    verdicts = {r["profile"]: r["verdict"] for r in out["reports"]}
    assert verdicts.get("real-back") == "CHECK_LEVEL_FAIL", verdicts
    assert out["parameters"]["quality"]["back"] == "inferred"
    again = _cli(server, "generate", str(IMAGES / "chair.png"), "--name", "quality/chair", "--faces", "2000",
                 "--require-real-back")                   # the same request: the version is reused (quality is no key)
    assert again.returncode == 0 and "(existing version reused)" in again.stdout, again.stdout + again.stderr
    assert "back        inferred, confidence" in again.stdout and "back.real" in again.stdout, again.stdout


def test_the_back_is_seen_only_when_a_view_shows_it():
    assert describe("multiview", 1.0, ("back",))[1]["back"] == "seen"
    assert describe("multiview", 1.0, ("180",))[1]["back"] == "seen"
    side = describe("multiview", 1.0, ("left", "90"))[1]
    assert side["back"] == "inferred" and "none of the 3 pictures" in side["notes"][0]
    assert describe("relief", 1.0)[1]["back"] == "plate"
    note, rec = describe("inflate", 0.62, depth=True)
    assert rec == {"back": "inferred", "confidence": 0.62, "source": "one picture and a depth map", "notes": rec["notes"]}
    assert "unsure" in " ".join(rec["notes"]) and "0.62" in note


def test_the_real_back_profile_fails_only_an_inferred_back():
    import trimesh

    from validation.report import validate

    box = trimesh.creation.box(extents=(0.2, 0.3, 0.1))
    levels = {back: next(c for c in validate(box, "real-back", back=back).checks if c.id == "back.real").level
              for back in ("inferred", "seen", "plate", None)}
    assert levels == {"inferred": "fail", "seen": "pass", "plate": "pass", None: "warn"}
    assert all(c.id != "back.real" for c in validate(box, "fdm", back="inferred").checks)

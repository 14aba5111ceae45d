"""JUnit/JSON reports and the `meshsmith validate` CLI (run in-process through argparse)."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET

import pytest
import trimesh

from meshsmith_client.cli import validate as cli
from tests.conftest import MESHES
from validation.formats import export_glb
from validation.junit import to_json, to_junit
from validation.report import validate


def test_junit_parses_with_one_testcase_per_check(corpus_mesh):
    reports = [validate(corpus_mesh("woody.obj"), p) for p in ("default", "fdm")]
    root = ET.fromstring(to_junit(reports))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["meshsmith.default", "meshsmith.fdm"]
    for suite, rep in zip(suites, reports):
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == [c.id for c in rep.checks]
        fails = [c for c in rep.checks if c.level == "fail"]
        assert int(suite.get("failures")) == len(fails) == len(suite.findall("testcase/failure"))
        warns = [c for c in rep.checks if c.level == "warn"]
        assert len(suite.findall("testcase/system-out")) == len(warns)
    flat = root.find("testsuite[@name='meshsmith.fdm']/testcase[@name='thickness.min']/failure")
    assert "flat" in flat.get("message")


def test_json_is_asdict(corpus_mesh):
    rep = validate(corpus_mesh("homer.obj"), "unity-pc")
    data = json.loads(to_json(rep))
    assert data["profile"] == "unity-pc" and data["verdict"] == "pass"
    assert set(data["stats"]) >= {"faces", "bbox_min", "texture_size"} and data["checks"][0]["id"] == "watertight"


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="meshsmith")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validate", *argv])
    return args.func(args)


def test_cli_exit_codes_and_table(capsys, corpus):
    assert _run(str(MESHES / "homer.obj")) == 0
    out = capsys.readouterr().out
    assert "profile default: PASS" in out and "watertight" in out
    assert _run(str(MESHES / "stanford-bunny.obj")) == 0  # warnings still pass
    assert _run(str(MESHES / "horse.ply")) == 1  # inside-out
    assert "inside-out" in capsys.readouterr().out


def test_cli_repair_json_and_junit(tmp_path, capsys, corpus):
    junit = tmp_path / "report.xml"
    code = _run(str(MESHES / "horse.ply"), "--repair", "--json", "--junit", str(junit))
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["report"]["verdict"] in ("pass", "warn") and data["repair"]["faces_reversed"] == 96966
    assert ET.parse(junit).getroot().get("failures") == "0"


def test_cli_glb_and_errors(tmp_path, capsys):
    glb = tmp_path / "box.glb"
    glb.write_bytes(export_glb(trimesh.creation.box(extents=(0.1, 0.1, 0.1))))
    assert _run(str(glb), "--profile", "webgl", "--json") == 0
    ids = [c["id"] for c in json.loads(capsys.readouterr().out)["report"]["checks"]]
    assert "up.axis" in ids
    assert _run(str(tmp_path / "missing.obj")) == 2
    bad = tmp_path / "bad.stl"
    bad.write_bytes(b"\x00" * 90)
    assert _run(str(bad)) == 2
    err = capsys.readouterr().err
    assert "missing.obj" in err and "bad.stl" in err


def test_cli_rejects_unknown_profile(corpus):
    with pytest.raises(SystemExit):
        _run(str(MESHES / "cow.obj"), "--profile", "ps5")

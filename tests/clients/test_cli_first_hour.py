"""Issue 18 item 7 ("first hour"), the parts that need no server: validate -o, diff across assets, an
unreachable server, one symmetry flag."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from meshsmith_client.cli import build_parser, main
from meshsmith_client.cli.assets import _params
from tests.conftest import IMAGES
from validation.formats import load_mesh

NO_SERVER = ["--server", "127.0.0.1:1"]  # nothing listens there


def _open_sphere(path) -> None:
    """A 40 mm sphere (STL: millimetres, Z up) with two triangles missing: not watertight."""
    m = trimesh.creation.icosphere(3, radius=20.0)
    m.update_faces(~np.isin(np.arange(len(m.faces)), [0, 5]))
    assert not m.is_watertight
    path.write_bytes(m.export(file_type="stl"))


@pytest.mark.parametrize("ext", ["stl", "3mf", "obj", "glb"])
def test_validate_repair_writes_the_repaired_mesh(tmp_path, capsys, ext):
    """The watertight failure names -o, and `--repair --printable -o FILE` writes a watertight FILE in the
    convention of its extension (read back as that format says: same size, so no unit or axis slip)."""
    src, out = tmp_path / "open.stl", tmp_path / f"fixed.{ext}"
    _open_sphere(src)
    assert main(["validate", str(src), "--profile", "fdm"]) == 1
    failed = capsys.readouterr().out
    assert "FAIL" in failed and "--repair -o" in failed, failed

    assert main(["validate", str(src), "--profile", "fdm", "--repair", "--printable", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "PASS" in said and f"wrote {out}" in said, said
    back = load_mesh(out.read_bytes(), out.name)
    assert back.is_watertight and back.is_volume
    size = sorted(np.asarray(back.extents))
    scale = 1000.0 if ext == "glb" else 1.0  # GLB is metres, the others millimetres
    assert size == pytest.approx([40.0 / scale] * 3, rel=0.02), size
    # and the written file validates as it was reported
    assert main(["validate", str(out), "--profile", "fdm"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_validate_output_with_an_unknown_extension_is_refused_before_work(tmp_path, capsys):
    src = tmp_path / "open.stl"
    _open_sphere(src)
    assert main(["validate", str(src), "--repair", "-o", str(tmp_path / "fixed.xyz")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert not (tmp_path / "fixed.xyz").exists()


def test_diff_of_two_different_assets_is_refused(capsys):
    """`diff props/chair@1 props/santa@1` used to compare chair@1 with itself."""
    assert main(["diff", "props/chair@1", "props/santa@1", *NO_SERVER]) == 1
    err = capsys.readouterr().err
    assert "INVALID_ARGUMENT" in err and "two assets" in err and "props/santa" in err, err


def test_an_unreachable_server_is_said_in_words(capsys):
    assert main(["history", "props/chair", *NO_SERVER]) == 1
    err = capsys.readouterr().err
    assert "no meshsmith server answers at 127.0.0.1:1" in err and "meshsmith serve" in err, err
    assert "MESHSMITH_SERVER" in err and "--server" in err


def test_one_symmetry_flag():
    """--symmetric / --no-symmetric map onto GenerateParams.symmetric / no_symmetry; the old --no-symmetry
    still parses (hidden) so scripts keep working; batch takes the same flag."""
    base = ["generate", str(IMAGES / "chair.png"), "--name", "r/c"]

    def flags(argv):
        p = _params(build_parser().parse_args(argv))
        return p.symmetric, p.no_symmetry

    assert flags(base) == (False, False)
    assert flags([*base, "--symmetric"]) == (True, False)
    assert flags([*base, "--no-symmetric"]) == (False, True)
    assert flags([*base, "--no-symmetry"]) == (False, True)
    assert flags(["batch", "folder", "--no-symmetric"]) == (False, True)
    assert "--no-symmetry" not in build_parser()._subparsers._group_actions[0].choices["generate"].format_help()

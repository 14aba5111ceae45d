"""The CLI checks numbers and version refs against meshsmith.limits before it connects (no server here)."""

from __future__ import annotations

import pytest

from meshsmith_client.cli import main
from tests.conftest import IMAGES, MESHES

NO_SERVER = ["--server", "127.0.0.1:1"]  # nothing listens: a check that needed the server would say UNAVAILABLE


@pytest.mark.parametrize("argv, message", [
    (["generate", str(IMAGES / "chair.png"), "--name", "r/c", "--height", "1e-12"], "target_height_m must be a number from 0.0001"),
    (["generate", str(IMAGES / "chair.png"), "--name", "r/c", "--width", "1e-300"], "target_width_m must be"),
    (["generate", str(IMAGES / "chair.png"), "--name", "r/c", "--faces", "99999999999"], "target_faces must be"),
    (["generate", str(IMAGES / "chair.png"), "--name", "r/c", "--seed", "-1"], "seed must be"),
    (["import", str(MESHES / "cow.obj"), "--name", "r/c", "--unit-scale", "1e-300"], "unit_scale must be"),
    (["import", str(MESHES / "cow.obj"), "--name", "r/c", "--lods", "1,0.5,5"], r"lod_ratios[2] must be"),
    (["deprecate", "r/c@99999999999999999999"], "version number must be"),
    (["deprecate", "r/c@²"], "expected a version number"),
])
def test_cli_refuses_out_of_range_values_before_connecting(argv, message, capsys):
    assert main([*argv, *NO_SERVER]) == 1
    err = capsys.readouterr().err
    assert "INVALID_ARGUMENT" in err and message in err, err


def test_generate_flags_reach_the_request():
    """--symmetric asks inflate for a mirrored back; without it the request leaves the default (a flatter back)."""
    from meshsmith_client.cli import build_parser
    from meshsmith_client.cli.assets import _params

    base = ["generate", str(IMAGES / "chair.png"), "--name", "r/c", "--mode", "inflate"]
    assert _params(build_parser().parse_args([*base, "--symmetric"])).symmetric is True
    assert _params(build_parser().parse_args(base)).symmetric is False

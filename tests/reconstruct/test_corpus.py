"""Every mode on real corpus pictures: clean volumes, valid GLB (Khronos validator), byte-identical reruns."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from reconstruct.image import decode_image
from reconstruct.modes import ReconstructParams, reconstruct
from reconstruct.segment import segment
from tests.conftest import IMAGES

from .helpers import assert_clean, assert_valid_glb

MODES = ["inflate", "revolve", "extrude", "relief", "voxel"]


@functools.cache
def _segmented(name: str):
    return segment(decode_image((IMAGES / name).read_bytes()))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["pikachu.png", "teapot.png"])  # 1024 px RGBA cut-out; RGB on plain grey
def test_mode_on_real_picture(corpus, name, mode):
    res = reconstruct(_segmented(name), ReconstructParams(mode=mode, target_height_m=0.3))
    assert res.mode == mode and res.reason == "requested"
    mesh = res.mesh
    assert_clean(mesh)
    assert mesh.extents[1] == pytest.approx(0.3, rel=1e-9)
    if mode in ("inflate", "revolve", "relief"):
        assert 20_000 <= len(mesh.faces) <= 150_000, len(mesh.faces)
    assert_valid_glb(mesh)


@pytest.mark.parametrize("name", ["cute_horse.jpg", "flamingo.png", "sword.png", "chair.png"])
def test_auto_on_busy_and_thin_pictures(corpus, name):
    res = reconstruct(_segmented(name), ReconstructParams())
    assert res.mode in MODES and res.reason.startswith("auto chose")
    assert_clean(res.mesh)


@pytest.mark.parametrize("mode", MODES)
def test_deterministic(corpus, mode):
    params = ReconstructParams(mode=mode, seed=7)
    a = reconstruct(segment(decode_image((IMAGES / "horse.png").read_bytes())), params).mesh
    b = reconstruct(segment(decode_image((IMAGES / "horse.png").read_bytes())), params).mesh
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.faces, b.faces)
    assert np.array_equal(a.visual.uv, b.visual.uv)
    assert a.visual.material.baseColorTexture.tobytes() == b.visual.material.baseColorTexture.tobytes()
    assert a.export(file_type="glb") == b.export(file_type="glb")

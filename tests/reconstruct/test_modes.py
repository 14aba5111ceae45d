"""Geometry modes on synthetic pictures with known answers: sizes, radii, voxel counts, holes, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from meshsmith.errors import InvalidInput
from reconstruct.inflate import BACK_RATIO, DEPTH_SCALE
from reconstruct.modes import MODES, ReconstructParams, reconstruct
from reconstruct.segment import segment

from .helpers import assert_clean, cutout, euler, shaded_profile

HEIGHT_PX = 400


def _vase_radius(i: int) -> float:
    return 70.0 + 30.0 * np.sin(np.pi * i / 200.0)


def _ring_mask(size: int = 300, outer: float = 120, inner: float = 50) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] + 0.5
    d = np.hypot(y - size / 2, x - size / 2)
    return (d <= outer) & (d >= inner)


# a 16x16 icon: a heart with a diagonal-only contact (a non-manifold trap) and a 1-pixel hole
ICON = np.array([[c == "#" for c in row] for row in [
    "................",
    "..###.....###...",
    ".#####...#####..",
    "################",
    "################",
    "#######.########",
    "################",
    ".##############.",
    "..############..",
    "...##########...",
    "....########....",
    ".....######.....",
    "......####......",
    ".......##.......",
    "........#.......",
    ".........#......",
]])


def _icon_rgba(scale: int = 1) -> np.ndarray:
    img = np.zeros((16, 16, 4), np.uint8)
    img[ICON] = (220, 30, 60, 255)
    img[ICON & (np.arange(16)[None, :] < 8)] = (250, 200, 0, 255)  # two flat colours
    return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)


def _ring_radii(mesh, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = mesh.vertices
    r = np.hypot(v[:, 0], v[:, 2])
    keep = r > 1e-9
    return v[keep, 1], r[keep]


def test_cylinder_revolves_within_two_percent():
    img = shaded_profile(lambda i: 100.0, HEIGHT_PX)
    res = reconstruct(segment(img), ReconstructParams(mode="revolve", target_height_m=1.0))
    assert_clean(res.mesh)
    y, r = _ring_radii(res.mesh, None)
    expected = 100.0 / HEIGHT_PX  # metres, the picture is scaled to 1 m tall
    assert abs(res.mesh.bounds[1, 1] - 1.0) < 1e-9
    assert np.all(np.abs(r - expected) < 0.02 * expected), (r.min(), r.max(), expected)
    assert abs(res.mesh.volume - np.pi * expected**2) < 0.02 * np.pi * expected**2


def test_vase_profile_revolves_within_two_percent():
    img = shaded_profile(_vase_radius, HEIGHT_PX)
    res = reconstruct(segment(img), ReconstructParams(mode="revolve"))
    assert_clean(res.mesh)
    y, r = _ring_radii(res.mesh, None)
    row = np.clip((1.0 - y) * HEIGHT_PX, 0, HEIGHT_PX - 1)  # y = 1 m is object row 0
    expected = _vase_radius(row) / HEIGHT_PX
    err = np.abs(r - expected) / expected
    assert np.percentile(err, 99) < 0.02 and err.max() < 0.03, err.max()


def test_extruded_square_measures_its_size():
    mask = np.zeros((300, 300), bool)
    mask[50:250, 60:260] = True
    seg = segment(cutout(mask))
    mesh = reconstruct(seg, ReconstructParams(mode="extrude", target_height_m=0.5, depth_m=0.05)).mesh
    assert_clean(mesh)
    assert np.allclose(mesh.extents, [0.5, 0.5, 0.05], rtol=1e-5)
    assert mesh.volume == pytest.approx(0.5 * 0.5 * 0.05, rel=1e-5)
    wide = reconstruct(seg, ReconstructParams(mode="extrude", target_width_m=0.2, depth_m=0.01)).mesh
    assert np.allclose(wide.extents, [0.2, 0.2, 0.01], rtol=1e-5)
    default = reconstruct(seg, ReconstructParams(mode="extrude")).mesh
    assert np.allclose(default.extents, [1.0, 1.0, 0.25], rtol=1e-5)  # a quarter of the shorter side


@pytest.mark.parametrize("rows, cols, extents", [
    ((50, 150), (20, 280), [2.6, 1.0, 0.25]),    # a wide outline, 1 m tall (a dresser, a sofa): not a 10 cm card
    ((20, 280), (125, 151), [0.1, 1.0, 0.025]),  # a tall thin one (a sword): a blade, not a 10 cm bar
])
def test_extrude_default_depth_follows_the_outlines_shorter_side(rows, cols, extents):
    """Issue 18 item 7: the assumed thickness was 10% of the height, whatever the outline's shape."""
    mask = np.zeros((300, 300), bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    mesh = reconstruct(segment(cutout(mask)), ReconstructParams(mode="extrude")).mesh
    assert_clean(mesh)
    assert np.allclose(mesh.extents, extents, rtol=2e-2), mesh.extents


@pytest.mark.parametrize("scale", [1, 8])
def test_icon_gives_exactly_its_voxels(scale):
    seg = segment(_icon_rgba(scale))
    count = int(ICON.sum())
    mesh = reconstruct(seg, ReconstructParams(mode="voxel", target_height_m=1.6)).mesh
    assert_clean(mesh, texture_cap=1024)
    rows = np.flatnonzero(ICON.any(axis=1))
    voxel = 1.6 / (rows[-1] + 1 - rows[0])
    assert mesh.volume == pytest.approx(count * voxel**3, rel=1e-4)
    assert mesh.extents[2] == pytest.approx(voxel, rel=1e-6)
    assert euler(mesh) == 0, "the 1-pixel hole makes genus 1"
    thick = reconstruct(seg, ReconstructParams(mode="voxel", target_height_m=1.6, depth_m=3.2 * voxel)).mesh
    assert thick.volume == pytest.approx(3 * count * voxel**3, rel=1e-4)


def test_voxel_texture_holds_the_flat_colours():
    mesh = reconstruct(segment(_icon_rgba()), ReconstructParams(mode="voxel")).mesh
    tex = np.asarray(mesh.visual.material.baseColorTexture)
    colours = {tuple(c) for c in tex.reshape(-1, 3)}
    assert colours == {(220, 30, 60), (250, 200, 0)}
    assert mesh.visual.kind == "texture" and not hasattr(mesh.visual, "vertex_colors")


@pytest.mark.parametrize("mode", ["extrude", "inflate", "voxel"])
def test_hole_is_kept(mode):
    seg = segment(cutout(_ring_mask()))
    mesh = reconstruct(seg, ReconstructParams(mode=mode)).mesh
    assert_clean(mesh)
    assert euler(mesh) == 0, f"{mode}: a ring must be a torus (genus 1)"


def test_relief_plate_in_millimetres():
    img = np.zeros((300, 300, 4), np.uint8)
    img[..., :3], img[..., 3] = 30, 255
    img[60:240, 60:240, :3] = 255  # a white square on a plain dark background
    seg = segment(img)
    mesh = reconstruct(seg, ReconstructParams(mode="relief", target_width_m=0.1, depth_m=0.004)).mesh
    assert_clean(mesh)
    w, h = seg.mask.shape[1], seg.mask.shape[0]
    assert mesh.extents[0] == pytest.approx(0.1, rel=1e-9)
    assert mesh.extents[1] == pytest.approx(0.1 * h / w, rel=1e-9)
    assert mesh.extents[2] == pytest.approx(0.002 + 0.004, rel=1e-3)  # 2 mm base + 4 mm relief


def test_inflate_depth_and_symmetry():
    seg = segment(cutout(_ring_mask(outer=140, inner=0)))
    sym = reconstruct(seg, ReconstructParams(mode="inflate", symmetric=True)).mesh
    flat_back = reconstruct(seg, ReconstructParams(mode="inflate")).mesh
    deep = reconstruct(seg, ReconstructParams(mode="inflate", depth_m=0.3)).mesh
    for m in (sym, flat_back, deep):
        assert_clean(m)
    # a disc inflates to a ball DEPTH_SCALE times as deep as wide (the calibrated prior, see inflate)
    assert sym.extents[2] == pytest.approx(DEPTH_SCALE * sym.extents[0], rel=0.03)
    # by default the same total depth, split front : back = 1 : BACK_RATIO about the outline's plane
    assert flat_back.extents[2] == pytest.approx(sym.extents[2], rel=0.03)
    for mesh, ratio in ((sym, 1.0), (flat_back, BACK_RATIO)):
        v = mesh.vertices
        r = np.hypot(v[:, 0], v[:, 1] - mesh.extents[1] / 2)
        rim = np.median(v[np.argsort(-r)[:40], 2])             # the widest points: the outline's plane
        front, back = v[:, 2].max() - rim, rim - v[:, 2].min()
        assert back / front == pytest.approx(ratio, rel=0.02)
    assert deep.extents[2] == pytest.approx(0.3, rel=1e-9)


def test_revolve_without_symmetry_follows_each_row():
    img = shaded_profile(lambda i: 60.0, HEIGHT_PX)
    img = np.ascontiguousarray(np.roll(img, 0, axis=1))
    img[250:450] = np.roll(img[250:450], 40, axis=1)  # the lower half is shifted right: no single axis
    seg = segment(img)
    free = reconstruct(seg, ReconstructParams(mode="revolve", symmetry=False)).mesh
    assert_clean(free)
    assert free.extents[0] == pytest.approx((120 + 40) / HEIGHT_PX, rel=0.02)


@pytest.mark.parametrize("cap, side", [(256, 256), (300, 256), (64, 64)])
def test_texture_cap(cap, side):
    seg = segment(shaded_profile(lambda i: 100.0, HEIGHT_PX))
    for mode in ("revolve", "extrude"):
        tex = reconstruct(seg, ReconstructParams(mode=mode, texture_size=cap)).mesh.visual.material.baseColorTexture
        assert max(tex.size) == side and all(s & (s - 1) == 0 for s in tex.size)


def test_auto_choices():
    vase = reconstruct(segment(shaded_profile(_vase_radius, HEIGHT_PX)), ReconstructParams())
    assert vase.mode == "revolve" and "symmetric" in vase.reason
    no_sym = reconstruct(segment(shaded_profile(_vase_radius, HEIGHT_PX)), ReconstructParams(symmetry=False))
    assert no_sym.mode != "revolve"
    icon = reconstruct(segment(_icon_rgba(4)), ReconstructParams())
    assert icon.mode == "voxel" and "pixel art" in icon.reason
    logo = np.zeros((400, 400), bool)
    logo[41:357, 43:119] = True
    logo[41:117, 43:331] = True
    logo[181:247, 43:263] = True  # a flat-colour "F"
    flat = reconstruct(segment(cutout(logo)), ReconstructParams())
    assert flat.mode == "extrude" and "flat-colour" in flat.reason
    requested = reconstruct(segment(cutout(logo)), ReconstructParams(mode="inflate"))
    assert requested.mode == "inflate" and requested.reason == "requested"


@pytest.mark.parametrize("bad", [
    dict(mode="sculpt"), dict(target_height_m=-1.0), dict(target_width_m=float("nan")),
    dict(depth_m=0.0), dict(texture_size=8), dict(texture_size=1.5),
])
def test_bad_params(bad):
    seg = segment(cutout(_ring_mask()))
    with pytest.raises(InvalidInput):
        reconstruct(seg, ReconstructParams(**bad))


def test_registry():
    assert set(MODES) == {"inflate", "revolve", "extrude", "relief", "voxel"}


def test_upscaled_icon_on_white_background_is_found_as_pixel_art():
    img = np.full((16, 16, 4), 255, np.uint8)
    art = _icon_rgba()
    img[ICON] = art[ICON]
    big = np.pad(np.repeat(np.repeat(img, 12, axis=0), 12, axis=1), ((7, 9), (5, 11), (0, 0)), constant_values=255)
    seg = segment(big)
    assert seg.method == "background"
    res = reconstruct(seg, ReconstructParams(target_height_m=1.6))
    assert res.mode == "voxel"
    rows = np.flatnonzero(ICON.any(axis=1))
    voxel = 1.6 / (rows[-1] + 1 - rows[0])
    assert res.mesh.volume == pytest.approx(ICON.sum() * voxel**3, rel=1e-4)


def _line_art() -> np.ndarray:
    import cv2
    img = np.full((400, 400, 4), 255, np.uint8)
    pts = np.array([[40 + 40 * k, 60 + 280 * (k % 2)] for k in range(9)], np.int32)
    cv2.polylines(img, [pts], False, (10, 10, 10, 255), thickness=2)      # a 2-px zigzag
    cv2.circle(img, (200, 200), 60, (10, 10, 10, 255), thickness=1)       # a 1-px ring across it
    return img


@pytest.mark.parametrize("mode", ["inflate", "revolve", "extrude", "relief", "voxel", "auto"])
def test_thin_line_art_stays_one_clean_volume(mode):
    res = reconstruct(segment(_line_art()), ReconstructParams(mode=mode))
    assert_clean(res.mesh)


@pytest.mark.parametrize("mode", ["inflate", "revolve", "extrude", "relief", "voxel"])
def test_tiny_picture(mode):
    mask = np.zeros((12, 12), bool)
    mask[2:10, 3:9] = True
    mask[4:6, 5:7] = False
    assert_clean(reconstruct(segment(cutout(mask)), ReconstructParams(mode=mode)).mesh)

"""Planar faces stay flat (issue 10 item 3): known answers on rendered solids, and curved ones stay round."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from reconstruct.assemble import work_mask
from reconstruct.inflate import DEPTH_SCALE, WORK_AREA, WORK_SIDE
from reconstruct.modes import ReconstructParams, reconstruct
from reconstruct.planes import planar_regions
from reconstruct.render import Camera, RenderParams, render
from reconstruct.segment import segment

from .helpers import assert_clean

SIZE = 384


def _flat_shaded(extents, colour=(200, 120, 40, 255)) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=extents)
    box.unmerge_vertices()          # each face lit by its own normal, as a real flat face
    box.visual.face_colors = colour
    return box


def _box() -> trimesh.Trimesh:
    return _flat_shaded((0.6, 1.0, 0.4))


def _sign() -> trimesh.Trimesh:
    return _flat_shaded((1.0, 0.6, 0.004), (30, 120, 200, 255))


def _sphere() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=5, radius=0.5)


def _lying_cylinder() -> trimesh.Trimesh:
    c = trimesh.creation.cylinder(radius=0.25, height=1.6, sections=256)
    c.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, [0, 1, 0]))
    return c


def _regions(img: np.ndarray) -> list[float]:
    """Shares of the object covered by each detected planar face."""
    seg = segment(img)
    cov, _ = work_mask(seg.mask, WORK_SIDE, WORK_AREA)
    lab = planar_regions(seg.rgba, seg.mask, cov.shape)
    return [float((lab == i).sum() / (cov > 0.5).sum()) for i in range(1, int(lab.max()) + 1)]


def _front_angles(mesh: trimesh.Trimesh) -> np.ndarray:
    """Angles (deg) to +Z of the front-facing faces over the middle 80% of the outline's width and height."""
    n, c = mesh.face_normals, mesh.triangles_center
    lo, hi = mesh.bounds
    mid, ext = (lo + hi) / 2, hi - lo
    sel = (n[:, 2] > 0) & (c[:, 2] > mid[2]) & (np.abs(c[:, 0] - mid[0]) < 0.4 * ext[0]) \
        & (np.abs(c[:, 1] - mid[1]) < 0.4 * ext[1])
    return np.degrees(np.arccos(np.clip(n[sel, 2], -1.0, 1.0)))


@pytest.mark.parametrize("make", [_box, _sign])
def test_a_face_seen_front_on_stays_flat(make):
    solid = make()
    img = render(solid, Camera(), RenderParams(size=SIZE))
    assert len(_regions(img)) == 1 and _regions(img)[0] > 0.8
    mesh = reconstruct(segment(img), ReconstructParams(mode="inflate")).mesh
    assert_clean(mesh)
    ang = _front_angles(mesh)
    assert ang.size > 500 and ang.max() < 3.0, (ang.size, ang.max())
    # a slab, not a dome: the old dome was DEPTH_SCALE times the inscribed ball (0.72 for the box)
    short = min(solid.extents[:2])
    assert mesh.extents[2] / mesh.extents[1] < 0.85 * DEPTH_SCALE * short / solid.extents[1]


@pytest.mark.parametrize("make", [_sphere, _lying_cylinder])
def test_curved_solids_stay_round(make):
    """Smoothly lit: no region of one shade is large (the dome path runs unchanged)."""
    img = render(make(), Camera(), RenderParams(size=SIZE))
    assert _regions(img) == []
    if make is _sphere:
        mesh = reconstruct(segment(img), ReconstructParams(mode="inflate")).mesh
        ang = _front_angles(mesh)
        assert np.mean(ang < 3.0) < 0.05, np.mean(ang < 3.0)     # no plateau: a round front
        assert mesh.extents[2] / mesh.extents[0] == pytest.approx(DEPTH_SCALE, rel=0.05)


def test_flat_art_is_not_a_face():
    """One flat colour with no shading anywhere and a round outline: a cartoon, not a lit plane; it
    stays a balloon. A rectangle of flat colour is a box or sign seen front-on (the box prior)."""
    yy, xx = np.mgrid[0:400, 0:400]
    disc = np.zeros((400, 400, 4), np.uint8)
    disc[np.hypot(yy - 200, xx - 200) < 150] = (200, 40, 40, 255)
    assert _regions(disc) == []
    card = np.zeros((400, 400, 4), np.uint8)
    card[60:340, 100:300] = (200, 40, 40, 255)
    assert len(_regions(card)) == 1


def test_lit_faces_of_a_turned_box():
    """Seen from above a corner: the faces are lit differently, each a large region of one shade."""
    img = render(_box(), Camera(yaw_deg=35, pitch_deg=25), RenderParams(size=SIZE))
    assert len(_regions(img)) >= 2
    a = reconstruct(segment(img), ReconstructParams(mode="inflate")).mesh
    b = reconstruct(segment(img), ReconstructParams(mode="inflate")).mesh
    assert_clean(a)
    assert a.export(file_type="glb") == b.export(file_type="glb")

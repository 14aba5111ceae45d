"""--fov in the single-view modes that ignored it: revolve undoes the pinhole; relief and voxel are flat."""

from __future__ import annotations

import numpy as np
import trimesh

from reconstruct.modes import ReconstructParams, reconstruct
from reconstruct.render import Camera, RenderParams, render
from reconstruct.segment import segment

R, H = 0.3, 1.0


def _cylinder_picture(fov: float) -> np.ndarray:
    cyl = trimesh.creation.cylinder(radius=R, height=H, sections=128)
    cyl.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))  # axis along +Y
    return render(cyl, Camera(fov_deg=fov, fit="none"), RenderParams(size=512, background=(255, 255, 255, 255)))


def test_revolve_undoes_perspective():
    """A standing cylinder pictured at 40 deg: its top and bottom rims' near edges stretch the picture's height
    (the radius read at the axis' depth came out 16% small); with --fov it revolves within 2% of its radius."""
    seg = segment(_cylinder_picture(40.0))
    mesh = reconstruct(seg, ReconstructParams(mode="revolve", fov_deg=40.0, target_height_m=H)).mesh
    assert abs(mesh.extents[0] / 2 - R) < 0.02 * R, mesh.extents
    assert abs(mesh.extents[2] / 2 - R) < 0.02 * R, mesh.extents
    assert mesh.is_watertight
    ignored = reconstruct(seg, ReconstructParams(mode="revolve", target_height_m=H)).mesh
    assert ignored.extents[0] / 2 < 0.9 * R  # the measure can fail: orthographic reading is far off


def test_relief_and_voxel_are_flat_subjects():
    """A relief or voxel subject is a flat picture facing the camera: a pinhole draws it uniformly scaled, so
    fov has nothing to undo; the output is the same bytes with and without it."""
    seg = segment(_cylinder_picture(40.0))
    for mode in ("relief", "voxel"):
        a = reconstruct(seg, ReconstructParams(mode=mode)).mesh.export(file_type="glb")
        b = reconstruct(seg, ReconstructParams(mode=mode, fov_deg=40.0)).mesh.export(file_type="glb")
        assert a == b

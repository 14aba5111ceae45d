"""Issue 11 item 5: relief and lithophanes from any picture, sized in millimetres, that slice."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshsmith.errors import InvalidInput
from reconstruct.image import decode_image
from reconstruct.params import ReconstructParams
from reconstruct.relief import ReliefParams, relief_input, relief_with
from reconstruct.segment import NoObjectFound, segment
from tests.validation.test_export_print import SLICER, slice_file, slicer_info
from validation import formats
from validation.report import validate

LITHO = ReliefParams(width_mm=150, min_mm=0.8, max_mm=3.2, frame_mm=4, invert=True)


def _png(gray: np.ndarray, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(gray, mode).save(buf, "PNG")
    return buf.getvalue()


def _photo_600x400() -> bytes:
    """A full-frame grayscale picture with nothing standing out: texture all over, no plain border."""
    yy, xx = np.mgrid[0:400, 0:600]
    noise = np.random.default_rng(0).normal(0, 10, (400, 600))
    return _png((127 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0) + noise).clip(0, 255).astype(np.uint8))


def _thickness_at(mesh: trimesh.Trimesh, x: float, y: float) -> float:
    """Plate thickness (Z, metres) at a point of the plate's front (x, y in metres, scene frame)."""
    hits, _, _ = mesh.ray.intersects_location([[x, y, 1.0]], [[0, 0, -1.0]])
    return float(hits[:, 2].max() - mesh.bounds[0, 2])


def test_full_frame_grayscale_picture_becomes_a_plate_of_its_aspect():
    rgba = decode_image(_photo_600x400())
    with pytest.raises(NoObjectFound):  # what `relief` answered before: "no object stands out"
        segment(rgba)
    seg = relief_input(rgba)
    assert seg.method == "full-frame" and seg.mask.shape == (400, 600) and seg.mask.all()
    mesh = relief_with(seg, ReconstructParams(mode="relief"), LITHO)
    w, h, t = mesh.extents * 1000
    assert w == pytest.approx(150.0) and t == pytest.approx(3.2, abs=1e-6)
    assert (w - 8) / (h - 8) == pytest.approx(1.5, rel=0.01)  # the picture inside the 4 mm frame keeps 600:400
    assert mesh.is_volume


def test_lithophane_is_thin_where_bright_and_relief_thick():
    gray = np.full((400, 600), 30, np.uint8)
    gray[:, 300:] = 230  # right half bright
    seg = relief_input(decode_image(_png(gray)))
    params = ReconstructParams(mode="relief")
    for invert, thin_side in ((True, "right"), (False, "left")):
        m = relief_with(seg, params, ReliefParams(width_mm=120, min_mm=0.8, max_mm=3.0, invert=invert))
        lo, hi = m.bounds
        cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
        left, right = _thickness_at(m, cx - 0.03, cy), _thickness_at(m, cx + 0.03, cy)
        thin, thick = (right, left) if thin_side == "right" else (left, right)
        # luminance 30 / 230 of 255 spans 0.8..3.0 mm
        assert thin * 1000 == pytest.approx(0.8 + 2.2 * 25 / 255, abs=0.1)
        assert thick * 1000 == pytest.approx(0.8 + 2.2 * 225 / 255, abs=0.1)


def test_an_object_that_stands_out_is_still_the_relief():
    rgba = np.zeros((300, 300, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[..., :3] = 255
    rgba[100:200, 80:220, :3] = (200, 40, 40)  # a red block on white
    seg = relief_input(rgba)
    assert seg.method != "full-frame" and not seg.mask.all()
    mesh = relief_with(seg, ReconstructParams(mode="relief"), ReliefParams(width_mm=70, min_mm=1.0, max_mm=3.0))
    assert mesh.extents[0] * 1000 == pytest.approx(70.0) and mesh.is_volume


def test_bad_relief_sizes_are_refused():
    seg = relief_input(decode_image(_photo_600x400()))
    with pytest.raises(InvalidInput, match="above min_mm"):
        relief_with(seg, ReconstructParams(mode="relief"), ReliefParams(min_mm=3, max_mm=2))
    with pytest.raises(InvalidInput, match="frame"):
        relief_with(seg, ReconstructParams(mode="relief"), ReliefParams(width_mm=10, frame_mm=5))


@pytest.mark.skipif(SLICER is None, reason="prusa-slicer missing: `make install` installs it (APT_PACKAGES)")
def test_lithophane_through_the_pipeline_passes_fdm_and_slices(tmp_path):
    from server.pipeline import GenerateJob, generate
    from validation.decimate import DecimateParams

    job = GenerateJob(image=_photo_600x400(), reconstruct=ReconstructParams(mode="relief"),
                      decimate=DecimateParams(target_faces=20000), profiles=("fdm",), lod_ratios=(1.0,),
                      previews=False, relief=LITHO)
    out = generate(job, lambda *a, **k: None)
    mesh = trimesh.load(io.BytesIO(out.glb), file_type="glb", force="mesh")
    assert mesh.extents[0] * 1000 == pytest.approx(150.0, abs=0.01)
    assert (mesh.extents[0] * 1000 - 8) / (mesh.extents[1] * 1000 - 8) == pytest.approx(1.5, rel=0.01)
    fdm = {r["profile"]: r for r in out.reports}["fdm"]
    assert fdm["verdict"] != "fail", [c for c in fdm["checks"] if c["level"] == "fail"]
    path = tmp_path / "litho.stl"
    path.write_bytes(formats.export_stl(mesh))
    info = slicer_info(path)
    assert [info["size_x"], info["size_z"]] == pytest.approx([150.0, mesh.extents[1] * 1000], abs=0.1)
    slice_file(path, (250.0, 210.0, 220.0))
    assert validate(mesh, "fdm").verdict != "fail"

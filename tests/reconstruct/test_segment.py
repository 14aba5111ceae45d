"""segment: alpha cut-outs, plain and busy backgrounds (real corpus and known-answer pictures), no-object cases."""

from __future__ import annotations

import numpy as np
import pytest

from meshsmith.errors import InvalidInput, NoObjectFound
from reconstruct.image import decode_image
from reconstruct.segment import SegmentParams, segment
from tests.conftest import IMAGES

from .helpers import cutout


def _disc(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] + 0.5
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def _load(name: str) -> np.ndarray:
    return decode_image((IMAGES / name).read_bytes())


def test_rgba_cutout_uses_alpha():
    rgba = _load("horse.png")
    seg = segment(rgba)
    assert seg.method == "alpha"
    assert seg.mask.shape == seg.rgba.shape[:2] and seg.mask.dtype == bool
    opaque = int((rgba[..., 3] >= 128).sum())
    assert abs(int(seg.mask.sum()) - opaque) < 0.02 * opaque
    assert (seg.rgba[~seg.mask, 3] == 0).all() and (seg.rgba[seg.mask, 3] > 0).all()
    # cropped with a margin: no object pixel on the crop border
    assert not (seg.mask[0].any() or seg.mask[-1].any() or seg.mask[:, 0].any() or seg.mask[:, -1].any())


def test_plain_background_photo():
    rgba = _load("teapot.png")  # RGB, flat grey background
    seg = segment(rgba)
    assert seg.method == "background"
    assert 0.3 < seg.mask.mean() < 0.8
    assert seg.rgba.shape[0] < rgba.shape[0] and seg.rgba.shape[1] < rgba.shape[1]
    h, w = seg.mask.shape
    assert seg.mask[h // 2, w // 2]  # the pot's body


def test_busy_background_photo_uses_grabcut():
    rgba = _load("cute_horse.jpg")  # busy, non-uniform background
    seg = segment(rgba)
    assert seg.method == "grabcut"
    assert 0.25 < seg.mask.mean() < 0.9
    assert seg.mask.sum() < 0.6 * rgba.shape[0] * rgba.shape[1]


def test_grabcut_finds_a_known_disc_on_a_noisy_background():
    rng = np.random.default_rng(1)
    h = w = 300
    img = np.empty((h, w, 4), np.uint8)
    img[..., :3] = rng.integers(0, 120, (h, w, 3))  # busy dark-ish texture, not uniform at the border
    img[..., 2] += rng.integers(0, 100, (h, w)).astype(np.uint8)
    img[..., 3] = 255
    disc = _disc(h, w, 150, 150, 80)
    img[disc, :3] = (250, 220, 40)
    seg = segment(img)
    assert seg.method == "grabcut"
    full = np.zeros((h, w), bool)
    ys, xs = np.nonzero(disc)
    # place the crop back: it is the disc's bbox with a margin
    y0 = int(ys.min()) - (seg.mask.shape[0] - (ys.max() - ys.min() + 1)) // 2
    x0 = int(xs.min()) - (seg.mask.shape[1] - (xs.max() - xs.min() + 1)) // 2
    full[y0:y0 + seg.mask.shape[0], x0:x0 + seg.mask.shape[1]] = seg.mask
    iou = (full & disc).sum() / (full | disc).sum()
    assert iou > 0.93, iou


def test_hole_and_thin_part_kept_specks_removed():
    h = w = 400
    ring = _disc(h, w, 200, 200, 120) & ~_disc(h, w, 200, 200, 50)
    stick = np.zeros((h, w), bool)
    stick[40:90, 199:202] = True                    # 3 px wide antenna touching the ring
    speck = _disc(h, w, 380, 20, 3)                   # far and tiny
    img = np.full((h, w, 4), 255, np.uint8)
    img[ring | stick | speck, :3] = (20, 90, 160)
    seg = segment(img)
    assert seg.method == "background"
    pad = (seg.mask.shape[1] - 240) // 2           # crop = ring + antenna bbox (y 40..320, x 80..320) + margin
    assert pad == 6 and seg.mask.shape[1] == 240 + 2 * pad, "the far speck must be dropped"
    top = 280 + 2 * pad - seg.mask.shape[0]           # rows of antenna tip lost to denoising
    assert 0 <= top <= 3, "the thin antenna must be kept"
    assert seg.mask[pad + 10 - top, 200 - 80 + pad], "the thin antenna must be kept"
    assert not seg.mask[200 - 40 + pad - top, 200 - 80 + pad], "the hole must be kept"


def test_near_significant_part_kept():
    h = w = 400
    mask = _disc(h, w, 200, 150, 70) | _disc(h, w, 200, 275, 40)  # two blobs 15 px apart
    seg = segment(cutout(mask))
    assert abs(int(seg.mask.sum()) - int(mask.sum())) < 0.01 * mask.sum()


@pytest.mark.parametrize("img, words", [
    (np.full((200, 200, 4), 255, np.uint8), "blank or one plain colour"),
    (np.dstack([np.full((200, 200, 3), (30, 120, 200), np.uint8), np.full((200, 200), 255, np.uint8)]),
     "blank or one plain colour"),
    (np.zeros((200, 200, 4), np.uint8), "fully transparent"),
    (np.random.default_rng(0).integers(0, 256, (200, 200, 4), dtype=np.uint8) | np.uint8(0),
     "stands out"),
])
def test_no_object(img, words):
    if words == "stands out":
        img = img.copy()
        img[..., 3] = 255
    with pytest.raises(NoObjectFound, match=words) as info:
        segment(img)
    assert "send" in str(info.value)


def test_object_filling_the_frame():
    full = np.zeros((200, 200), bool)
    full[1:-1, 1:-1] = True  # a cut-out whose object covers everything but a 1-px frame
    img = cutout(full)
    with pytest.raises(NoObjectFound, match="fills the whole image"):
        segment(img)


def test_bad_input_type():
    with pytest.raises(InvalidInput):
        segment(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(InvalidInput):
        segment(np.zeros((100, 100, 4), np.uint8), SegmentParams(method="magic"))


def test_deterministic():
    rgba = _load("cake.jpg")
    a, b = segment(rgba), segment(rgba)
    assert a.method == b.method and np.array_equal(a.mask, b.mask) and np.array_equal(a.rgba, b.rgba)


@pytest.mark.parametrize("inside, filled", [
    ((18.0, 14.0, 8.0), True),   # paint a little lighter and warmer than the backdrop: the object's
    ((0.0, 0.0, 0.0), False),    # the backdrop seen through the object: a real hole
    (0.94, False),               # the backdrop in shade (inside a handle), within the tolerance: still a hole
])
def test_enclosed_regions_near_the_backdrop_colour(inside, filled):
    """A dark ring on a light, graded, noisy backdrop; what its middle shows decides whether the middle is object.
    Every pixel of a lighter paint is within the per-pixel tolerance of the backdrop (28 levels), so only its
    mean departure tells it from the backdrop (a white cow's patches on a light grey studio backdrop)."""
    h = w = 240
    rng = np.random.default_rng(3)
    y = np.mgrid[0:h, 0:w][0] / (h - 1)
    rgb = np.repeat((225.0 - 25.0 * y)[..., None], 3, axis=2) + rng.normal(0.0, 2.0, (h, w, 3))
    outer, middle = _disc(h, w, 120, 120, 80), _disc(h, w, 120, 120, 50)
    rgb[outer & ~middle] = (60.0, 55.0, 50.0)
    rgb[middle] = rgb[middle] * inside if isinstance(inside, float) else rgb[middle] + np.array(inside)
    rgba = np.concatenate([np.clip(rgb, 0, 255).astype(np.uint8), np.full((h, w, 1), 255, np.uint8)], axis=2)
    seg = segment(rgba)
    assert seg.method == "background"
    x0, y0 = seg.origin
    full = np.zeros((h, w), bool)
    full[y0:y0 + seg.mask.shape[0], x0:x0 + seg.mask.shape[1]] = seg.mask
    kept = full[middle].mean()
    assert (kept > 0.98) if filled else (kept < 0.02), kept
    assert full[outer & ~_disc(h, w, 120, 120, 52)].mean() > 0.98

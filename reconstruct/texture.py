"""Base-colour textures: power-of-two RGB images whose empty texels are filled from the object."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage


EDGE = 0.003  # colours within this fraction of the long side (>= 1 px) of the outline are not trusted:
              # photo edge pixels mix in the background (a grey fringe); the interior is pushed out instead
GUTTER = 0.02  # empty border around the picture in the texture, fraction of its long side (>= 2 px):
               # glTF samplers default to REPEAT, so UVs must stay clear of the texture edges


def gutter(height: int, width: int) -> int:
    return max(2, int(np.ceil(GUTTER * max(height, width))))


def pow2_at_most(n: int) -> int:
    return 1 << max(0, int(n).bit_length() - 1)


def texture_side(pixels: int, cap: int, scale: int = 1) -> int:
    """Smallest power of two >= pixels*scale, capped by the largest power of two <= cap (>= 16)."""
    want = 1 << max(4, int(np.ceil(np.log2(max(pixels * scale, 1)))))
    return min(want, max(16, pow2_at_most(cap)))


def _push_pull(rgb: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Fill where weight w (H, W) is 0 with a smooth extension of the weighted colours (H, W, 3)."""
    h, wd = w.shape
    if w.min() > 0 or h <= 1 or wd <= 1:
        return rgb
    sh, sw = max(1, h // 2), max(1, wd // 2)
    small_w = cv2.resize(w, (sw, sh), interpolation=cv2.INTER_AREA)
    small_c = cv2.resize(rgb * w[..., None], (sw, sh), interpolation=cv2.INTER_AREA)
    small = small_c / np.maximum(small_w, 1e-6)[..., None]
    filled = _push_pull(small.astype(np.float32), (small_w > 1e-6).astype(np.float32))
    up = cv2.resize(filled, (wd, h), interpolation=cv2.INTER_LINEAR)
    return rgb * w[..., None] + up * (1 - w[..., None])


def smooth_texture(rgba: np.ndarray, mask: np.ndarray, cap: int) -> Image.Image:
    """(H, W, 4) uint8 + (H, W) bool -> RGB PIL image, power-of-two sides, background filled (push-pull).

    The picture sits inside a gutter (see planar_uv), so nothing samples across the wrapped edge.
    Colours come from the mask eroded by EDGE (parts thinner than that keep their own pixels); the
    outline band and the background take the push-pull extension of the interior, so silhouette
    texels carry the object's colour, not the background's.
    """
    mask = colour_mask(mask)
    g = gutter(*mask.shape)
    rgba = np.pad(rgba[..., :3], ((g, g), (g, g), (0, 0)))
    mask = np.pad(mask, g)
    h, w = mask.shape
    tw, th = texture_side(w, cap), texture_side(h, cap)
    rgb = np.where(mask[..., None], rgba[..., :3], np.uint8(0))
    rgb_t = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)          # premultiplied by coverage
    w_t = cv2.resize(mask.view(np.uint8) * np.uint8(255), (tw, th), interpolation=cv2.INTER_AREA)
    # outside: a quarter-size push-pull fill, smooth and cheap (only ever sampled near the edge)
    qw, qh = max(1, tw // 4), max(1, th // 4)
    small_w = cv2.resize(w_t.astype(np.float32) / 255, (qw, qh), interpolation=cv2.INTER_AREA)
    small_c = cv2.resize(rgb_t.astype(np.float32), (qw, qh), interpolation=cv2.INTER_AREA)
    small_c /= np.maximum(small_w, 1e-6)[..., None]
    filled = _push_pull(small_c, (small_w > 1e-3).astype(np.float32))
    out = cv2.resize(np.clip(filled + 0.5, 0, 255).astype(np.uint8), (tw, th), interpolation=cv2.INTER_LINEAR)
    inside = w_t == 255
    np.copyto(out, rgb_t, where=inside[..., None])
    # partly covered texels: un-premultiply; below a quarter coverage the 8-bit premultiplied value is too
    # coarse (30 * 4 / 255 rounds to 0), so those keep the fill
    edge = np.nonzero((w_t >= 64) & ~inside)
    out[edge] = np.clip(rgb_t[edge] * (255.0 / w_t[edge][:, None]) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "RGB")


def colour_mask(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> the pixels whose colours are trusted: mask minus an EDGE-wide outline band."""
    if mask.all():  # a whole picture (relief): no outline
        return mask
    k = max(1, int(round(EDGE * max(mask.shape))))
    m = np.pad(mask, k + 2).view(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    inner = cv2.erode(m, disc)
    near = cv2.dilate(inner, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 3, 2 * k + 3)))
    out = (inner > 0) | ((m > 0) & (near == 0))   # parts the erosion removed whole keep their pixels
    return out[k + 2:-k - 2, k + 2:-k - 2]


def blocky_texture(colors: np.ndarray, mask: np.ndarray, cap: int) -> Image.Image:
    """Pixel-art texture: (h, w, 3) uint8 cells upscaled without blur -> RGB PIL image, power-of-two sides.

    Empty cells take the colour of the nearest occupied cell, decided per half cell, so a side face
    (sampled exactly on a cell edge) sees its own cell's colour on both sides of that edge.
    """
    h, w = mask.shape
    tw, th = texture_side(w, cap, 16), texture_side(h, cap, 16)
    half = np.repeat(np.repeat(colors, 2, axis=0), 2, axis=1)
    if not mask.all():
        half_m = np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1)
        _, (iy, ix) = ndimage.distance_transform_edt(~half_m, return_indices=True)
        half = half[iy, ix]
    ys = np.minimum(((np.arange(th) + 0.5) * 2 * h / th).astype(int), 2 * h - 1)
    xs = np.minimum(((np.arange(tw) + 0.5) * 2 * w / tw).astype(int), 2 * w - 1)
    return Image.fromarray(np.ascontiguousarray(half[ys][:, xs], dtype=np.uint8), "RGB")


def planar_uv(xy: np.ndarray, width: float, height: float, pad: float | None = None) -> np.ndarray:
    """Front projection: (N, 2) picture coordinates (x right, y up) -> (N, 2) UVs, origin bottom-left.

    The picture spans [0, width] x [0, height] inside a border of `pad` (default: smooth_texture's gutter).
    """
    g = gutter(int(height), int(width)) if pad is None else pad
    uv = np.empty((len(xy), 2), np.float64)
    uv[:, 0] = (xy[:, 0] + g) / (width + 2 * g)
    uv[:, 1] = (xy[:, 1] + g) / (height + 2 * g)
    return np.clip(uv, 0.0, 1.0)

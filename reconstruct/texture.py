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


BACK_BLUR = 0.08    # back texture: Gaussian sigma as a fraction of the object's long side in the texture
BACK_RIM = 0.03     # ...the front's own colours kept within this fraction of the long side of the outline
BACK_GRAIN = 0.5    # ...plus grain: this share of the front's fine-detail contrast, as band-limited noise
BACK_WORK = 128     # texels across the copy the wide blur runs on


def back_texture(front: Image.Image, mask: np.ndarray, seed: int = 0) -> Image.Image:
    """The unseen back's texture, laid out like `front` (smooth_texture of the same picture and mask):
    the front's colours continued without its features.

    Inside the object: the front blurred by BACK_BLUR of the object's size, a normalised convolution over
    the object only (no background leaks in): materials and colour regions carry round, eyes, mouths, logos
    and print do not (they are smaller than the blur). Within BACK_RIM of the outline it turns into the
    front's own colours, so the seam where front and back meet on the rim does not show. A little grain
    (BACK_GRAIN of the front's fine-detail contrast, seeded noise) keeps it from looking like plastic.
    Why not a mirror: a figure seen from the front has its face there and not behind (issue 19 item 3).
    """
    f8 = np.asarray(front)
    th, tw = f8.shape[:2]
    g = gutter(*mask.shape)
    m = cv2.resize(np.pad(mask, g).astype(np.float32), (tw, th), interpolation=cv2.INTER_AREA)
    inside = m > 0.5
    if not inside.any():
        return front
    ys, xs = np.nonzero(inside)
    long_side = float(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)
    # the blur is wide and smooth: done on a copy at most BACK_WORK texels across (a full-size Gaussian of
    # 8% of a 1024-texel side took 2 s), then scaled back up; full-size work stays in OpenCV (uint8 / float32)
    k = min(1.0, BACK_WORK / max(th, tw))
    size = (max(2, round(tw * k)), max(2, round(th * k)))
    sigma = max(1.0, BACK_BLUR * long_side * k)
    ms = cv2.resize(m, size, interpolation=cv2.INTER_AREA)
    fs = cv2.resize(f8, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    wsum = cv2.GaussianBlur(ms, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    csum = cv2.GaussianBlur(fs * ms[..., None], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    low = np.where((wsum > 1e-3)[..., None], csum / np.maximum(wsum, 1e-4)[..., None], fs)
    rng = np.random.default_rng(seed)
    lum = cv2.cvtColor(f8, cv2.COLOR_RGB2GRAY).astype(np.float32)  # fine-detail contrast of the front's brightness
    fine = cv2.subtract(lum, cv2.GaussianBlur(lum, (0, 0), 1.5))
    contrast = float(np.sqrt(cv2.mean(cv2.multiply(fine, fine), inside.view(np.uint8))[0]))
    low = cv2.resize(low, (tw, th), interpolation=cv2.INTER_LINEAR)
    if contrast > 0:   # grain two texels wide: noise drawn at half size, scaled up (the scaling smooths it)
        noise = rng.standard_normal((max(1, th // 2), max(1, tw // 2))).astype(np.float32)
        noise = cv2.resize(noise * np.float32(BACK_GRAIN * contrast), (tw, th), interpolation=cv2.INTER_LINEAR)
        low = cv2.add(low, cv2.merge([noise, noise, noise]))
    depth_in = cv2.distanceTransform(inside.view(np.uint8), cv2.DIST_L2, 5)
    keep = np.clip(1.0 - depth_in / np.float32(max(1.0, BACK_RIM * long_side)), 0.0, 1.0).astype(np.float32)
    back = cv2.blendLinear(f8.astype(np.float32), low, keep, 1.0 - keep)
    return Image.fromarray(np.clip(back + 0.5, 0, 255).astype(np.uint8), "RGB")


def with_back(mesh, back_faces: np.ndarray, back: Image.Image, cap: int):
    """A textured trimesh whose UVs index the front picture -> the same solid with a two-tile atlas, front and
    back: the faces flagged in (M,) bool `back_faces` sample the back tile (same layout as the front's).
    Tiles side by side when twice the width fits the cap, else one above the other when twice the height
    does, else side by side with both tiles squeezed to half width (the atlas stays within `cap`).
    Vertices shared by front and back faces are split (a UV seam on the rim); positions stay shared, so the
    solid stays closed."""
    import trimesh
    from trimesh.visual import TextureVisuals
    from trimesh.visual.material import PBRMaterial

    front = mesh.visual.material.baseColorTexture
    w, h = front.size
    across = 2 * w <= cap or 2 * h > cap
    if across and 2 * w > cap:
        w = max(1, w // 2)
    tile = (w, h)
    front_t = front if front.size == tile else front.resize(tile, Image.LANCZOS)
    back_t = back if back.size == tile else back.resize(tile, Image.LANCZOS)
    atlas = Image.new("RGB", (2 * w, h) if across else (w, 2 * h))
    atlas.paste(front_t, (0, 0) if across else (0, h))     # UV origin is bottom-left: front on the bottom
    atlas.paste(back_t, (w, 0) if across else (0, 0))
    faces = np.asarray(mesh.faces)
    n = len(mesh.vertices)
    key = faces.ravel() + n * np.repeat(np.asarray(back_faces, np.int64), 3)
    uniq, inverse = np.unique(key, return_inverse=True)
    src, side = uniq % n, uniq // n
    uv = np.asarray(mesh.visual.uv, np.float64)[src].copy()
    k = 0 if across else 1
    uv[:, k] = (uv[:, k] + side) / 2.0
    out = trimesh.Trimesh(vertices=np.asarray(mesh.vertices)[src], faces=inverse.reshape(-1, 3),
                          process=False, validate=False)
    material = PBRMaterial(baseColorTexture=atlas, metallicFactor=0.0, roughnessFactor=0.9)
    out.visual = TextureVisuals(uv=uv, material=material)
    out._front_only = mesh  # without the back tile (see front_only): for face budgets below the seam's floor
    return out


SEAM_FACES = 2.2  # faces a decimated mesh keeps per locked seam vertex (measured: the rim seam of a 3,000-face
                  # inflate held LOD 0.1 at 1,600-2,100 faces for 760-960 seam vertices)
SEAM_SLACK = 1.1  # a LOD may end this much over its budget (the pipeline's LOD tests allow 10%)
MIN_BACK_FACES = 2000  # below this budget thin parts fold at the back's seam even when it fits (the cartoon panda
                       # at 1,500 faces: 5 non-manifold vertices, 4 parts; tests/validation/test_decimate.py)


def front_only(mesh, lowest_faces: int | None):
    """(mesh, note): a mesh from with_back whose lowest face budget (`lowest_faces`, None: not decimated) is below
    what its locked rim seam allows (SEAM_FACES per seam vertex: decimation keeps UV seams whole) -> the same solid
    with the front projection on both sides (no seam), and a sentence saying so; else (mesh, "")."""
    single = getattr(mesh, "_front_only", None)
    if single is None or lowest_faces is None:
        return mesh, ""
    seam = len(mesh.vertices) - len(single.vertices)
    if SEAM_FACES * seam <= SEAM_SLACK * lowest_faces and lowest_faces >= MIN_BACK_FACES:
        return mesh, ""
    return single, (f"the back shows the front mirrored: the lowest face budget ({lowest_faces}) is under the "
                    f"{max(int(SEAM_FACES * seam), MIN_BACK_FACES)} faces a separate back texture's seam needs; "
                    f"ask for more faces")

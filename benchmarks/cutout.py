"""Cut-out benchmark that can fail: corpus meshes rendered onto a studio backdrop, with and without a soft cast shadow.

Each oriented corpus mesh (benchmarks/quality.py CASES; grey except spot, which is textured) is rendered front-on
at 512 px with its alpha (the true mask), then composited onto an opaque backdrop: a vertical grey gradient
(235 -> 200 levels) with a mild vignette and pixel noise (seeded). The "shadow" variant darkens an ellipse of the
backdrop under the object (0.9 x its width, 0.14 x its height, to 0.5 of the backdrop's brightness at its centre,
soft-edged: Gaussian blur of 4% of the object's width), the way a studio light casts it. The pipeline's own
segment() runs on the opaque picture (no alpha to use), and its mask, put back into the picture's frame, is
scored by IoU against the true mask. Baseline (no information about the object): the picture's central
rectangle, 10% of its side in from each edge.

Run:  .venv/bin/python benchmarks/cutout.py [--base DIR]   (DIR: another checkout's reconstruct/, same run)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import CASES, load_case  # noqa: E402
from shape import load_pipeline  # noqa: E402
from reconstruct.render import Camera, RenderParams, render  # noqa: E402

SIZE = 512


def backdrop(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float studio backdrop: vertical gradient, vignette, noise."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    grad = 235.0 - 35.0 * y
    vignette = 1.0 - 0.08 * ((x - 0.5) ** 2 + (y - 0.5) ** 2) * 4
    base = (grad * vignette)[..., None] * np.array([1.0, 1.0, 1.02])
    return base + rng.normal(0.0, 2.0, (size, size, 3))


def shadow(alpha: np.ndarray) -> np.ndarray:
    """(H, W) float darkening factor (1 = none) of a soft ellipse under the object of the (H, W) alpha."""
    ys, xs = np.nonzero(alpha > 0.5)
    cx, bottom = (xs.min() + xs.max()) / 2, ys.max()
    w, h = xs.max() - xs.min(), ys.max() - ys.min()
    yy, xx = np.mgrid[0:alpha.shape[0], 0:alpha.shape[1]]
    ell = (((xx - cx) / (0.45 * w)) ** 2 + ((yy - bottom) / (0.07 * h)) ** 2) <= 1.0
    soft = ndimage.gaussian_filter(ell.astype(np.float64), 0.04 * w)
    return 1.0 - 0.5 * soft / max(soft.max(), 1e-9)


def picture(case, with_shadow: bool) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 4) opaque uint8 picture, (H, W) bool true mask."""
    rgba = render(load_case(case), Camera(fit="view"), RenderParams(size=SIZE))
    alpha = rgba[..., 3:4].astype(np.float64) / 255.0
    bg = backdrop(SIZE, np.random.default_rng(7))
    if with_shadow:
        bg = bg * shadow(alpha[..., 0])[..., None]
    rgb = alpha * rgba[..., :3] + (1.0 - alpha) * bg
    out = np.concatenate([np.clip(rgb, 0, 255).round().astype(np.uint8), np.full((SIZE, SIZE, 1), 255, np.uint8)], 2)
    return out, alpha[..., 0] >= 0.5


def full_mask(seg, shape) -> np.ndarray:
    m = np.zeros(shape, bool)
    x0, y0 = seg.origin
    h, w = seg.mask.shape
    m[y0:y0 + h, x0:x0 + w] = seg.mask
    return m


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="checkout whose reconstruct/ is scored too, as 'before'")
    args = ap.parse_args(argv)
    pipelines = {"now": load_pipeline(None)}
    if args.base:
        pipelines["before"] = load_pipeline(args.base)
    box = np.zeros((SIZE, SIZE), bool)
    m = int(0.1 * SIZE)
    box[m:SIZE - m, m:SIZE - m] = True
    names = ["baseline (central box)", *pipelines]
    print("| mesh | variant | " + " | ".join(names) + " |")
    print("|---|---|" + "---:|" * len(names))
    sums: dict[tuple[str, str], list[float]] = {}
    for case in CASES:
        for variant in ("plain", "shadow"):
            pic, truth = picture(case, variant == "shadow")
            row = {"baseline (central box)": iou(box, truth)}
            for label, (segment, _, _) in pipelines.items():
                try:
                    row[label] = iou(full_mask(segment(pic), truth.shape), truth)
                except Exception:  # no object found: scores 0
                    row[label] = 0.0
            for k, v in row.items():
                sums.setdefault((variant, k), []).append(v)
            print(f"| {case.name} | {variant} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |", flush=True)
    for variant in ("plain", "shadow"):
        print(f"| **mean** | {variant} | " + " | ".join(f"**{np.mean(sums[(variant, n)]):.3f}**" for n in names) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

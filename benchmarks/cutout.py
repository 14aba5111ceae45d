"""Cut-out benchmark that can fail: corpus meshes rendered onto a studio backdrop, with and without a soft cast shadow.

Each oriented corpus mesh (benchmarks/quality.py CASES; grey except spot, which is textured) is rendered front-on
at 512 px with its alpha (the true mask), then composited onto an opaque backdrop: a vertical grey gradient
(235 -> 200 levels) with a mild vignette and pixel noise (seeded). The "shadow" variant darkens an ellipse of the
backdrop under the object (0.9 x its width, 0.14 x its height, to 0.5 of the backdrop's brightness at its centre,
soft-edged: Gaussian blur of 4% of the object's width), the way a studio light casts it. The pipeline's own
segment() runs on the opaque picture (no alpha to use), and its mask, put back into the picture's frame, is
scored by IoU against the true mask. Baseline (no information about the object): the picture's central
rectangle, 10% of its side in from each edge.

Composites (section 20, issue 19): each corpus picture that has a real alpha (../shared/corpus/images, RGBA) is
scaled to fit 70% of a 512 px square and pasted with its exact (soft) alpha over a real photograph from
scikit-image's bundled data (centre-cropped), each picture over every one, with a soft elliptical cast shadow
under it (to 0.55 of the photo's brightness). Reported apart: "textures" (grass, gravel, brick: a surface with no
subject of its own, as a product shot on a floor) and "scenes" (coffee, rocket, motorcycle, chelsea, astronaut:
photos whose own subject competes with the pasted object, so even the truth of "the salient object" is disputed).
Scored: the classical segment(), U²-Netp's mask alone (probability >= 0.5, cleaned, no GrabCut refinement), the
pipeline's default
cut_out(), ISNet when --isnet FILE.onnx (or MESHSMITH_ISNET) gives one (AGPL: never installed), and a
no-information baseline (the centred ellipse filling 70% of the frame). Every third picture (sorted by name,
index % 3 == 2) was kept out of any tuning: its mean is reported apart.

Run:  .venv/bin/python benchmarks/cutout.py [--suite studio|composites|all] [--base DIR] [--isnet FILE.onnx]
      (DIR: another checkout's reconstruct/, scored as 'before' on the studio suite, same run)
"""

from __future__ import annotations

import argparse
import os
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
CORPUS = ROOT.parent / "shared" / "corpus" / "images"
TEXTURES = ("grass.png", "gravel.png", "brick.png")  # a surface, no subject of its own: a product shot on a floor
SCENES = ("coffee.png", "rocket.jpg", "motorcycle_left.png", "chelsea.png", "astronaut.png")  # salient subjects of
BACKGROUNDS = TEXTURES + SCENES                                           # their own behind the object


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


def _cutters(isnet: str | None):
    """label -> (H, W, 4) picture -> (H, W) bool mask, for the learned cut-outs."""
    from reconstruct.cutout import CutoutParams, cut_out
    from reconstruct.segment import SegmentParams

    seg = SegmentParams()
    out = {
        "U²-Netp alone": lambda pic: cut_out(pic, seg, CutoutParams(plain_backdrop="model", refine_side=0)).mask,
        "default cut_out()": lambda pic: cut_out(pic, seg, CutoutParams()).mask,
    }
    if isnet:
        out["ISNet alone"] = lambda pic: cut_out(pic, seg, CutoutParams(model=isnet, plain_backdrop="model")).mask
    return out


def studio(args) -> None:
    pipelines = {"now": load_pipeline(None)}
    if args.base:
        pipelines["before"] = load_pipeline(args.base)
    learned = _cutters(args.isnet)
    box = np.zeros((SIZE, SIZE), bool)
    m = int(0.1 * SIZE)
    box[m:SIZE - m, m:SIZE - m] = True
    names = ["baseline (central box)", *pipelines, *learned]
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
            for label, cut in learned.items():
                try:
                    row[label] = iou(cut(pic), truth)
                except Exception:
                    row[label] = 0.0
            for k, v in row.items():
                sums.setdefault((variant, k), []).append(v)
            print(f"| {case.name} | {variant} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |", flush=True)
    for variant in ("plain", "shadow"):
        print(f"| **mean** | {variant} | " + " | ".join(f"**{np.mean(sums[(variant, n)]):.3f}**" for n in names) + " |")


def background_photo(name: str) -> np.ndarray:
    """(SIZE, SIZE, 3) float: a scikit-image sample photograph, centre-cropped to a square and resized."""
    import cv2
    import skimage
    from skimage import io

    img = io.imread(Path(skimage.__file__).parent / "data" / name)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    h, w = img.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return cv2.resize(img[y0:y0 + s, x0:x0 + s], (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float64)


def corpus_cutouts() -> list[Path]:
    """The corpus pictures that carry a real cut-out (RGBA with some transparency), sorted by name."""
    from PIL import Image

    out = []
    for path in sorted(CORPUS.glob("*.png")):
        with Image.open(path) as im:
            if im.mode == "RGBA" and (np.asarray(im)[..., 3] < 128).mean() > 0.001:
                out.append(path)
    return out


def composite(path: Path, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SIZE, SIZE, 4) opaque uint8 composite of the RGBA picture at `path` over `bg` with a cast shadow, and the
    (SIZE, SIZE) bool true mask."""
    import cv2
    from PIL import Image

    rgba = np.asarray(Image.open(path).convert("RGBA"))
    ys, xs = np.nonzero(rgba[..., 3] >= 8)
    rgba = rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = rgba.shape[:2]
    f = 0.7 * SIZE / max(h, w)
    nh, nw = max(1, round(h * f)), max(1, round(w * f))
    small = cv2.resize(rgba, (nw, nh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    y0, x0 = int(0.86 * SIZE) - nh, (SIZE - nw) // 2
    canvas = np.zeros((SIZE, SIZE, 4), np.float64)
    canvas[y0:y0 + nh, x0:x0 + nw] = small
    alpha = canvas[..., 3:4] / 255.0
    shade = shadow(alpha[..., 0])
    shade = 1.0 - (1.0 - shade) * 0.9  # to 0.55 of the photo's brightness at its centre
    rgb = alpha * canvas[..., :3] + (1.0 - alpha) * bg * shade[..., None]
    out = np.concatenate([np.clip(rgb, 0, 255).round().astype(np.uint8), np.full((SIZE, SIZE, 1), 255, np.uint8)], 2)
    return out, alpha[..., 0] >= 0.5


def composites(args) -> None:
    from reconstruct.segment import segment

    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    ellipse = (((xx - SIZE / 2) / (0.35 * SIZE)) ** 2 + ((yy - SIZE / 2) / (0.35 * SIZE)) ** 2) <= 1.0
    methods = {"baseline (centred ellipse)": lambda pic: ellipse,
               "classical segment()": lambda pic: full_mask(segment(pic), pic.shape[:2]),
               **_cutters(args.isnet)}
    names = list(methods)
    print("| picture | backgrounds | set | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---:|" * len(names))
    scores: dict[tuple[str, str], dict[str, list[float]]] = {}
    backgrounds = {name: background_photo(name) for name in BACKGROUNDS}
    for i, path in enumerate(corpus_cutouts()):
        part = "held out" if i % 3 == 2 else "tuning"
        for group, names_bg in (("textures", TEXTURES), ("scenes", SCENES)):
            row: dict[str, list[float]] = {label: [] for label in names}
            for bgname in names_bg:
                pic, truth = composite(path, backgrounds[bgname])
                for label, cut in methods.items():
                    try:
                        v = iou(cut(pic), truth)
                    except Exception:  # no object found: scores 0
                        v = 0.0
                    row[label].append(v)
                    scores.setdefault((group, part), {}).setdefault(label, []).append(v)
            print(f"| {path.stem} | {group} | {part} | " + " | ".join(f"{np.mean(row[n]):.3f}" for n in names) + " |",
                  flush=True)
    for group in ("textures", "scenes"):
        for part in ("tuning", "held out"):
            got = scores[(group, part)]
            print(f"| **mean** | {group} | {part} ({len(got[names[0]])}) | "
                  + " | ".join(f"**{np.mean(got[k]):.3f}**" for k in names) + " |")
    for part in ("tuning", "held out"):
        got = {k: scores[("textures", part)][k] + scores[("scenes", part)][k] for k in names}
        print(f"| **mean** | all | {part} ({len(got[names[0]])}) | " + " | ".join(f"**{np.mean(got[k]):.3f}**" for k in names) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=("studio", "composites", "all"), default="all")
    ap.add_argument("--base", type=Path, help="checkout whose reconstruct/ is scored too, as 'before' (studio suite)")
    ap.add_argument("--isnet", default=os.environ.get("MESHSMITH_ISNET"),
                    help="an ISNet/DIS .onnx file to score too (AGPL-3.0: never installed; default $MESHSMITH_ISNET)")
    args = ap.parse_args(argv)
    if args.suite in ("composites", "all"):
        composites(args)
    if args.suite in ("studio", "all"):
        studio(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Single photos an artist can keep (issue 19 items 3 and 4): the back, auto's revolve choice, revolve terraces.

  * back: each picture is inflated; the output is rendered unlit from the front (yaw 0) and from behind
    (yaw 180, mirrored left-right so it lines up with the front). corr = Pearson correlation of the two
    luminances over the pixels both cover, 3% of the long side inside the outline; detail corr = the same on
    the high-passed luminance (minus a Gaussian of 2% of the long side): features (eyes, mouths, print) copied
    onto the back score ~1, a back that only continues the colours ~0. "before" is the same geometry with the
    front projection on both sides (what inflate did until this change).
  * auto: the mode auto picks on drawn busts, a rendered head (Suzanne), the corpus figures and vases.
  * revolve terraces: the revolved drawn bust (a pawn-like outline), p95 of the angle between neighbouring
    profile segments and the share above 10 deg, before (no profile smoothing) and after.
  * boxes: a rendered box, a drawn dresser and a lying cylinder front-on through auto, before (no box cue) and after:
    the mode and the flatness of the front / back faces.
  * pictures: benchmarks/results/back_before_after.png (front | back before | back after, per picture).

Run:  .venv/bin/python benchmarks/single_view.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import trimesh
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconstruct import inflate as inflate_mod  # noqa: E402
from reconstruct import revolve as revolve_mod  # noqa: E402
from reconstruct.image import decode_image  # noqa: E402
from reconstruct.modes import ReconstructParams, reconstruct  # noqa: E402
from reconstruct.render import Camera, RenderParams, render  # noqa: E402
from reconstruct.segment import segment  # noqa: E402

IMAGES = ROOT.parent / "shared" / "corpus" / "images"
FIGURES = ("cartoon_girl.jpg", "police_woman.png", "tiger_girl.png", "pikachu.png", "hatsune_miku.png", "cute_tiger.jpg")


def face_figure(size: tuple[int, int] = (400, 580)) -> np.ndarray:
    """A drawn figure, head on a body, with an asymmetric face (one eye bigger, a scar on one cheek, the mouth
    off-centre) on skin shaded from one side: (H, W, 4) RGBA on white."""
    w, h = size
    m = np.zeros((h, w), np.uint8)
    cx = w // 2
    cv2.ellipse(m, (cx, 170), (110, 130), 0, 0, 360, 1, -1)
    cv2.ellipse(m, (cx, 420), (150, 120), 0, 0, 360, 1, -1)
    ys, xs = np.mgrid[0:h, 0:w]
    light = np.clip(1.0 - ((xs - cx + 50) / 260.0) ** 2, 0.3, 1)
    skin = np.stack([210 * light + 30, 165 * light + 25, 140 * light + 20], -1)
    coat = np.stack([60 * light + 20, 90 * light + 30, 170 * light + 40], -1)
    rgb = np.where((ys > 290)[..., None], coat, skin)
    rgb = np.where(m[..., None] > 0, rgb, 255).astype(np.uint8)
    cv2.ellipse(rgb, (cx - 45, 150), (24, 14), 0, 0, 360, (30, 25, 25), -1)
    cv2.ellipse(rgb, (cx + 40, 155), (12, 8), 0, 0, 360, (30, 25, 25), -1)
    cv2.line(rgb, (cx + 55, 190), (cx + 85, 235), (150, 30, 30), 5)
    cv2.ellipse(rgb, (cx - 20, 240), (34, 12), 10, 0, 180, (160, 40, 40), -1)
    cv2.ellipse(rgb, (cx, 75), (108, 60), 0, 180, 360, (70, 45, 20), -1)
    out = np.full((h, w, 4), 255, np.uint8)
    out[..., :3] = rgb
    return out


def bust(size: tuple[int, int] = (400, 600), face: bool = True) -> np.ndarray:
    """A drawn bust: head on a neck and shoulders, a symmetric outline; a symmetric face when `face`."""
    w, h = size
    m = np.zeros((h, w), np.uint8)
    cx = w // 2
    cv2.ellipse(m, (cx, 190), (95, 125), 0, 0, 360, 1, -1)
    cv2.rectangle(m, (cx - 45, 280), (cx + 45, 400), 1, -1)
    pts = np.array([[cx - 50, 380], [cx + 50, 380], [cx + 170, 460], [cx + 180, 560], [cx - 180, 560], [cx - 170, 460]])
    cv2.fillPoly(m, [pts], 1)
    ys, xs = np.mgrid[0:h, 0:w]
    light = np.clip(1.0 - ((xs - cx + 40) / 220.0) ** 2, 0.2, 1)
    col = np.stack([200 * light + 30, 160 * light + 20, 130 * light + 20], -1)
    rgb = np.where(m[..., None] > 0, col, 255).astype(np.uint8)
    if face:
        for dx in (-35, 35):
            cv2.ellipse(rgb, (cx + dx, 170), (16, 9), 0, 0, 360, (40, 30, 30), -1)
        cv2.line(rgb, (cx, 180), (cx - 8, 220), (120, 80, 60), 4)
        cv2.ellipse(rgb, (cx, 250), (30, 10), 0, 0, 180, (150, 40, 40), -1)
        cv2.ellipse(rgb, (cx, 120), (96, 60), 0, 180, 360, (60, 40, 20), -1)
    out = np.full((h, w, 4), 255, np.uint8)
    out[..., :3] = rgb
    return out


def front_back(mesh, size: int = 384) -> tuple[np.ndarray, np.ndarray]:
    """Unlit renders from the front and from behind, the back mirrored left-right to line up with the front."""
    p = RenderParams(size=size, lighting=False)
    front = render(mesh, Camera(yaw_deg=0.0), p)
    back = render(mesh, Camera(yaw_deg=180.0), p)[:, ::-1]
    return front, back


def back_correlation(mesh, size: int = 384) -> tuple[float, float]:
    """(corr, detail corr) of the back render against the front render (see the module docstring)."""
    front, back = front_back(mesh, size)
    both = (front[..., 3] > 250) & (back[..., 3] > 250)
    k = max(1, int(0.03 * size))
    both = cv2.erode(both.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0
    lf = front[..., :3].astype(np.float32).mean(-1)
    lb = back[..., :3].astype(np.float32).mean(-1)
    sig = 0.02 * size
    df, db = lf - cv2.GaussianBlur(lf, (0, 0), sig), lb - cv2.GaussianBlur(lb, (0, 0), sig)

    def corr(a, b):
        a, b = a[both], b[both]
        return float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-3 and b.std() > 1e-3 else 0.0
    return corr(lf, lb), corr(df, db)


def old_inflate(seg, params):
    """inflate as it was: the front projection on the back too (same geometry)."""
    keep = inflate_mod.with_back
    inflate_mod.with_back = lambda mesh, *a: mesh
    try:
        return reconstruct(seg, params).mesh
    finally:
        inflate_mod.with_back = keep


def profile_steps(mesh) -> tuple[float, float]:
    """(p95 angle, share > 10 deg) between neighbouring segments of a revolved mesh's profile (its x >= 0 meridian
    points sorted by height, caps excluded)."""
    v = np.asarray(mesh.vertices)
    r = np.hypot(v[:, 0], v[:, 2])
    y = v[:, 1]
    ys, idx = np.unique(np.round(y, 9), return_index=True)
    rr = np.array([r[np.round(y, 9) == t].max() for t in ys])
    keep = rr > 0.02 * rr.max()
    p = np.column_stack([rr[keep], ys[keep]])
    d = np.diff(p, axis=0)
    ang = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    turn = np.abs((np.diff(ang) + 180) % 360 - 180)
    return float(np.percentile(turn, 95)), float((turn > 10).mean())


def main() -> None:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    pics = {"drawn face figure": face_figure()}
    for name in FIGURES:
        pics[name] = decode_image((IMAGES / name).read_bytes())
    rows, tiles = [], []
    for name, img in pics.items():
        seg = segment(img)
        params = ReconstructParams(mode="inflate")
        before, after = old_inflate(seg, params), reconstruct(seg, params).mesh
        cb, cdb = back_correlation(before)
        ca, cda = back_correlation(after)
        rows.append((name, cb, ca, cdb, cda))
        print(f"| {name} | {cb:.2f} | {ca:.2f} | {cdb:.2f} | {cda:.2f} |", flush=True)
        f, bb = front_back(before, 256)
        _, ba = front_back(after, 256)
        tiles.append(np.concatenate([f, bb[:, ::-1], ba[:, ::-1]], axis=1))
    mean = np.mean([r[1:] for r in rows], axis=0)
    print(f"| mean | {mean[0]:.2f} | {mean[1]:.2f} | {mean[2]:.2f} | {mean[3]:.2f} |")
    sheet = np.concatenate(tiles, axis=0)
    white = np.full(sheet.shape[:2] + (3,), 255, np.float32)
    a = sheet[..., 3:4].astype(np.float32) / 255
    Image.fromarray((sheet[..., :3] * a + white * (1 - a)).astype(np.uint8)).save(out / "back_before_after.png")

    print("\nauto on symmetric outlines:")
    from reconstruct.auto import choose, features
    cases = {"drawn bust, face": bust(), "drawn bust, plain": bust(face=False)}
    suz = trimesh.load(ROOT.parent / "shared" / "corpus" / "meshes" / "suzanne.obj", force="mesh")
    cases["Suzanne front"] = render(suz, Camera(), RenderParams(size=512))
    for name in ("chair_watermelon.png", "police_woman.png", "bubble_mart_blue.png", "bulldog.png"):
        cases[name] = decode_image((IMAGES / name).read_bytes())
    cases["pawn (clients/samples)"] = decode_image((ROOT / "clients" / "samples" / "pawn.png").read_bytes())
    for name, img in cases.items():
        seg = segment(img)
        f = features(seg)
        mode, _, conf = choose(seg, ReconstructParams())
        print(f"| {name} | {f.symmetry:.3f} | {f.solid_rows:.2f} | {f.detail:.4f} | {f.texture_symmetry:.2f} | {mode} ({conf:.2f}) |")

    print("\nrevolve profile (drawn plain bust):")
    seg = segment(bust(face=False))
    keep = revolve_mod.smooth_profile
    revolve_mod.smooth_profile = lambda r: r
    try:
        b = profile_steps(reconstruct(seg, ReconstructParams(mode="revolve")).mesh)
    finally:
        revolve_mod.smooth_profile = keep
    a = profile_steps(reconstruct(seg, ReconstructParams(mode="revolve")).mesh)
    print(f"| before | {b[0]:.1f} | {b[1]:.1%} |\n| after | {a[0]:.1f} | {a[1]:.1%} |")

    print("\nboxes front-on, auto (flat: z spread of the front / back faces over the largest extent):")
    from reconstruct import auto as auto_mod
    box = trimesh.creation.box(extents=(1.0, 0.8, 0.5))
    lying = trimesh.creation.cylinder(radius=0.25, height=1.6, sections=256)
    lying.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    boxes = {"rendered box 1 x 0.8 x 0.5": render(box, Camera(), RenderParams(size=384)), "drawn dresser": dresser(),
             "lying cylinder (must not be a box)": render(lying, Camera(), RenderParams(size=384))}
    keep = auto_mod._box_front
    for name, img in boxes.items():
        seg = segment(img)
        auto_mod._box_front = lambda *a: False
        try:
            b = reconstruct(seg, ReconstructParams())
        finally:
            auto_mod._box_front = keep
        a = reconstruct(seg, ReconstructParams())
        fb, fa = flat_spread(b.mesh), flat_spread(a.mesh)
        print(f"| {name} | {b.mode}, {fb[0]:.1%} / {fb[1]:.1%} | {a.mode}, {fa[0]:.1%} / {fa[1]:.1%} |")


def dresser(size: tuple[int, int] = (500, 420)) -> np.ndarray:
    """A drawn dresser front-on: wood grain, three drawers with knobs, on white."""
    w, h = size
    img = np.full((h, w, 4), 255, np.uint8)
    grain = cv2.GaussianBlur(np.random.default_rng(1).standard_normal((h, w)).astype(np.float32), (0, 0), 8, sigmaY=1) * 40
    body = np.clip(np.array([150, 100, 60], np.float32)[None, None] + grain[..., None], 0, 255)
    img[40:400, 50:450, :3] = body[40:400, 50:450]
    for y in (70, 180, 290):
        cv2.rectangle(img, (70, y), (430, y + 95), (110, 70, 40, 255), 3)
        cv2.circle(img, (250, y + 47), 8, (200, 180, 120, 255), -1)
    return img


def flat_spread(mesh) -> tuple[float, float]:
    """z spread of the front- and back-facing faces (|n_z| > 0.5) over the mesh's largest extent."""
    n = mesh.face_normals
    size = float(mesh.extents.max())
    front = mesh.vertices[mesh.faces[n[:, 2] > 0.5]].reshape(-1, 3)[:, 2]
    back = mesh.vertices[mesh.faces[n[:, 2] < -0.5]].reshape(-1, 3)[:, 2]
    return float(np.ptp(front) / size), float(np.ptp(back) / size)


if __name__ == "__main__":
    main()

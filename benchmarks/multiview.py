"""Multi-view and RGB-D input on the corpus meshes: volume IoU, side IoU, F-score, time per extra view.

    .venv/bin/python benchmarks/multiview.py [--size 512] [--quick] [--cases cow,spot] [--sets 2,3,4]
        [--base DIR] [--no-rgbd] [--fov DEG] [--texture]

--fov DEG: the views are true pinhole pictures (Camera(fov_deg=DEG, fit="none"): principal point at the centre,
each view's distance such that the mesh fills it) and are rebuilt with ReconstructParams(fov_deg=DEG).
--texture: the pictures are unlit, of the mesh coloured along all three axes (stripes; spot keeps its own
texture), and each output is also scored on texture: "tex PSNR" = PSNR (dB) of the output after the server's
default decimation (20,000 faces) against the truth, both rendered unlit from a held-out view (yaw 45, pitch
15), inside both silhouettes.

--base DIR scores the reconstruct/ package of another checkout (e.g. `git worktree add DIR main`) in the same
run, on the same pictures, as "base N views" rows.

Every corpus mesh (oriented as in benchmarks/quality.py) is rendered orthographically (reconstruct/render.py,
fit "view", lit, on white) from the views of each set below, segmented like a user's picture and rebuilt
with reconstruct.multiview. RGB-D: the front picture plus the z-depth a perfect sensor would give
(reconstruct/depthcast.py, ray cast), in metres, with target_height_m = the true height (orthographic
metric depth needs the pixel size). Baselines in the same table: single-view inflate on the front picture,
and an ellipsoid filling the true bounding box.

Measures (both meshes placed alike: height 1, bottom at 0, x/z centred):
  vol IoU   occupancy on a 64^3 grid over the union of both boxes, as benchmarks/shape.py: ray parity, the
            majority of x, y and z rays, united with the voxels the surface passes through (defined for the
            corpus meshes that are not closed: spot, bunny, suzanne, teapot, beetle)
  vol IoU (contains)  the older measure: trimesh's inside test (one ray's parity) at the voxel centres;
            on beetle, 33 open pieces of a car's skin, it is not a solid's volume
  side IoU  silhouettes rendered from the right (yaw 90) — an input view from 2 views on
  oblique   silhouettes from yaw 45, pitch 20: a view no set uses (except 4 views' yaw 45)
  F@0.05    F-score at 5% of max(x, y extent), no ICP (surface samples, 20k a side)
  depth     output z extent / true z extent
  normal    angle between the normals of neighbouring faces of the output (before decimation), median and
            95th percentile: depth terraces show as a heavy tail; it also counts curvature (a marching-cubes
            sphere 86 voxels across has p50 1.0 deg), so a rounded surface cannot score as low as flat faces
  ripple    how far each vertex sits off the mean of its neighbours along its normal, per mille of the
            height, median and 95th percentile: ridges, creases and steps between rays, nearly blind to
            curvature (that sphere: 0.13 / 0.19)
  s         segment + reconstruct time; extra/view = (s - inflate's s) / (views - 1)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import trimesh
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import CASES, load_case  # noqa: E402
from benchmarks.shape import load_pipeline, voxels  # noqa: E402
from reconstruct.cameras import locate_crop  # noqa: E402
from reconstruct.depthcast import rgbd  # noqa: E402
from reconstruct.modes import ReconstructParams, reconstruct  # noqa: E402
from reconstruct.multiview import View, reconstruct_views  # noqa: E402
from reconstruct.render import Camera, RenderParams, mask_iou, render, render_silhouette  # noqa: E402
from reconstruct.rgbd import crop_depth, reconstruct_rgbd  # noqa: E402
from reconstruct.segment import segment  # noqa: E402

OUT_JSON = ROOT / "benchmarks" / "out" / "multiview.json"
OUT_MD = ROOT / "benchmarks" / "results" / "multiview.md"
SETS = {
    1: (("front", 0, 0), ("back", 180, 0)),   # "2 views fb" in the tables: two views that share no side
    2: (("front", 0, 0), ("right", 90, 0)),
    3: (("front", 0, 0), ("right", 90, 0), ("top", 0, 90)),
    4: (("front", 0, 0), ("right", 90, 0), ("top", 0, 90), ("45", 45, 0)),
}
GRID = 64
SAMPLES = 20_000
TAU = 0.05
QUICK = ("cow", "spot", "suzanne", "teapot")
GOALS = {"vol_iou": 0.75, "side_iou": 0.85}
SKIP = ("woody",)  # a zero-thickness cut-out: its side views are empty pictures, its volume 0


def placed(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Height 1, bottom at y = 0, x and z centred (the pipeline's placement)."""
    m = mesh.copy()
    lo, hi = m.bounds
    m.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
    m.apply_scale(1.0 / max(hi[1] - lo[1], 1e-12))
    return m


def ellipsoid(ref: trimesh.Trimesh) -> trimesh.Trimesh:
    lo, hi = ref.bounds
    e = trimesh.creation.icosphere(subdivisions=4)
    e.apply_scale((hi - lo) / 2)
    e.apply_translation((lo + hi) / 2)
    return e


def occupancy(mesh: trimesh.Trimesh, pts: np.ndarray) -> np.ndarray:
    return mesh.contains(pts)


def volume_iou(a: trimesh.Trimesh, b: trimesh.Trimesh) -> float:
    """Robust occupancy (benchmarks/shape.py: 3-axis parity majority + surface voxels) in the union box."""
    lo = np.minimum(a.bounds[0], b.bounds[0])
    hi = np.maximum(a.bounds[1], b.bounds[1])
    oa, ob = voxels(a, lo, hi), voxels(b, lo, hi)
    return float((oa & ob).sum() / max((oa | ob).sum(), 1))


def volume_iou_contains(a: trimesh.Trimesh, b: trimesh.Trimesh) -> float:
    lo = np.minimum(a.bounds[0], b.bounds[0])
    hi = np.maximum(a.bounds[1], b.bounds[1])
    axes = [lo[k] + (np.arange(GRID) + 0.5) * (hi[k] - lo[k]) / GRID for k in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    oa, ob = occupancy(a, pts), occupancy(b, pts)
    union = np.logical_or(oa, ob).sum()
    return float(np.logical_and(oa, ob).sum() / union) if union else 1.0


def f_score(a: trimesh.Trimesh, b: trimesh.Trimesh) -> tuple[float, float]:
    """(F@TAU, Chamfer-L1) between surfaces, in units of max(x, y extent) of a, no ICP."""
    scale = float(max(a.extents[:2]))
    pa = trimesh.sample.sample_surface(a, SAMPLES, seed=0)[0] / scale
    pb = trimesh.sample.sample_surface(b, SAMPLES, seed=1)[0] / scale
    d_ba = cKDTree(pa).query(pb)[0]
    d_ab = cKDTree(pb).query(pa)[0]
    p, r = float(np.mean(d_ba < TAU)), float(np.mean(d_ab < TAU))
    return (0.0 if p + r == 0 else 2 * p * r / (p + r)), float((d_ab.mean() + d_ba.mean()) / 2)


def silhouette_iou(a: trimesh.Trimesh, b: trimesh.Trimesh, cam: Camera, size: int) -> float:
    return mask_iou(render_silhouette(a, cam, size=size), render_silhouette(b, cam, size=size))


def ripple(mesh: trimesh.Trimesh) -> np.ndarray:
    """(V,) |normal component of (mean of each vertex's edge neighbours - vertex)|, per mille of the height."""
    e = mesh.edges_unique
    n = len(mesh.vertices)
    adj = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
    lap = adj @ mesh.vertices / np.maximum(np.asarray(adj.sum(axis=1)).ravel(), 1)[:, None] - mesh.vertices
    return 1000 * np.abs((lap * mesh.vertex_normals).sum(axis=1)) / max(float(mesh.extents[1]), 1e-12)


def metrics(truth: trimesh.Trimesh, rec: trimesh.Trimesh, size: int) -> dict:
    rec = rec.copy()
    rec.merge_vertices(merge_tex=True, merge_norm=True)
    rec = placed(rec)
    f, chamfer = f_score(truth, rec)
    angles = np.degrees(rec.face_adjacency_angles)
    rip = ripple(rec)
    return {
        "ripple_p50": float(np.median(rip)),
        "ripple_p95": float(np.percentile(rip, 95)),
        "normal_p50": float(np.median(angles)),
        "normal_p95": float(np.percentile(angles, 95)),
        "vol_iou": volume_iou(truth, rec),
        "vol_iou_contains": volume_iou_contains(truth, rec),
        "side_iou": silhouette_iou(truth, rec, Camera(yaw_deg=90), size),
        "oblique_iou": silhouette_iou(truth, rec, Camera(yaw_deg=45, pitch_deg=20), size),
        "f05": f,
        "chamfer_l1": chamfer,
        "depth_ratio": float(rec.extents[2] / max(truth.extents[2], 1e-12)),
    }


FOV: float | None = None   # --fov
TEXTURE = False            # --texture
SERVER_FACES = 20000       # the server's default decimation target


def shot(mesh: trimesh.Trimesh, yaw: float, pitch: float, size: int) -> np.ndarray:
    cam = Camera(yaw_deg=yaw, pitch_deg=pitch, fov_deg=FOV, fit="none") if FOV else Camera(yaw_deg=yaw, pitch_deg=pitch)
    return render(mesh, cam, RenderParams(size=size, background=(255, 255, 255, 255), lighting=not TEXTURE))


def stripes(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The mesh coloured along all three axes (vertex colours), unless it has its own texture."""
    if isinstance(mesh.visual, trimesh.visual.TextureVisuals):
        return mesh
    m = mesh.copy()
    q = (m.vertices - m.bounds[0]) / max(float(m.extents.max()), 1e-12)
    col = np.stack([128 + 120 * np.sin(q[:, 0] * 23), 128 + 120 * np.sin(q[:, 1] * 17 + 1),
                    128 + 120 * np.sin(q[:, 2] * 29 + 2)], axis=1)
    m.visual = trimesh.visual.ColorVisuals(m, vertex_colors=np.c_[col, np.full(len(col), 255)].astype(np.uint8))
    return m


def texture_psnr(truth: trimesh.Trimesh, rec: trimesh.Trimesh, size: int = 256) -> float:
    """PSNR (dB) of rec after the server's decimation against truth, unlit, from yaw 45 / pitch 15, inside both
    silhouettes; both placed alike."""
    from validation.decimate import DecimateParams, decimate

    served = placed(decimate(rec, DecimateParams(target_faces=SERVER_FACES, error_samples=0)).mesh)
    truth = placed(truth)
    cam = Camera(yaw_deg=45, pitch_deg=15, bounds=tuple(map(tuple, truth.bounds)))
    rp = RenderParams(size=size, background=(0, 0, 0, 0), lighting=False)
    a, b = render(truth, cam, rp), render(served, cam, rp)
    inside = (a[..., 3] > 200) & (b[..., 3] > 200)
    err = float(((a[..., :3][inside].astype(float) - b[..., :3][inside].astype(float)) ** 2).mean())
    return 10 * math.log10(255 ** 2 / max(err, 1e-9))


def multiview_of(code: Path | None):
    """(segment, View, reconstruct_views, ReconstructParams) of this checkout or of `code`/reconstruct."""
    if code is None:
        return segment, View, reconstruct_views, ReconstructParams
    seg_fn, _, params = load_pipeline(code)
    import importlib
    mv = importlib.import_module("reconstruct_base.multiview")
    return seg_fn, mv.View, mv.reconstruct_views, params


def run_case(case, size: int, sets=tuple(SETS), pipelines=None, with_rgbd: bool = True) -> list[dict]:
    orig = load_case(case)
    if TEXTURE:
        orig = stripes(orig)
    truth = placed(orig)
    rows = []
    front = shot(orig, 0, 0, size)
    t = time.perf_counter()
    seg = segment(front)
    single = reconstruct(seg, ReconstructParams(mode="inflate")).mesh
    t_single = time.perf_counter() - t
    rows.append({"case": case.name, "input": "1 view, inflate", "views": 1, "s": t_single, **metrics(truth, single, size)})
    for n in sets:
        poses = SETS[n]
        pics = [shot(orig, yaw, pitch, size) for _, yaw, pitch in poses]
        for prefix, (seg_fn, view_cls, rebuild, params_cls) in (pipelines or {"": multiview_of(None)}).items():
            name = f"{prefix}2 views fb" if n == 1 else f"{prefix}{n} views"
            t = time.perf_counter()
            try:
                views = []
                for (label, _, _), img in zip(poses, pics):
                    s = seg_fn(img)
                    views.append(view_cls(label, s, locate_crop(img, s), img.shape[:2]))
                mesh = rebuild(views, params_cls(fov_deg=FOV or 0.0)).mesh
            except Exception as err:  # noqa: BLE001 - a benchmark records the failure and goes on
                rows.append({"case": case.name, "input": name, "views": n, "error": str(err)[:200]})
                continue
            dt = time.perf_counter() - t
            row = {"case": case.name, "input": name, "views": n, "s": dt,
                   "extra_per_view_s": (dt - t_single) / max(n - 1, 1), **metrics(truth, mesh, size)}
            if TEXTURE:
                row["tex_psnr"] = texture_psnr(orig, mesh)
            rows.append(row)
    if not with_rgbd:
        rows.append({"case": case.name, "input": "ellipsoid in true bbox", "views": 0, **metrics(truth, ellipsoid(truth), size)})
        return rows
    img, depth = rgbd(orig, size)
    t = time.perf_counter()
    seg = segment(img)
    y, x = locate_crop(img, seg)
    crop = crop_depth(depth, img.shape[:2], (y, x), seg.mask.shape)
    mesh = reconstruct_rgbd(seg, crop, "m", ReconstructParams(target_height_m=float(orig.extents[1]))).mesh
    rows.append({"case": case.name, "input": "RGB-D", "views": 1, "s": time.perf_counter() - t, **metrics(truth, mesh, size)})
    rows.append({"case": case.name, "input": "ellipsoid in true bbox", "views": 0, **metrics(truth, ellipsoid(truth), size)})
    return rows


def fmt(v, spec=".3f") -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


COLS = ("vol_iou", "vol_iou_contains", "side_iou", "oblique_iou", "f05", "chamfer_l1", "depth_ratio", "normal_p50", "normal_p95", "ripple_p50", "ripple_p95", "tex_psnr")


def tables(rows: list[dict]) -> list[str]:
    inputs = list(dict.fromkeys(r["input"] for r in rows))
    out = ["| input | vol IoU 64³ | vol IoU (contains) | side IoU | oblique IoU | F@0.05 | Chamfer-L1 | depth ratio | normal step p50 (°) | p95 (°) | ripple p50 (‰) | p95 (‰) "
           "| tex PSNR (dB) | s (median) | extra s / view (median) | failed |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in inputs:
        ok = [r for r in rows if r["input"] == name and "error" not in r]
        bad = [r for r in rows if r["input"] == name and "error" in r]
        means = [fmt(float(np.mean([r[c] for r in ok if c in r]))) if any(c in r for r in ok) else "–" for c in COLS]
        s = fmt(float(np.median([r["s"] for r in ok])), ".2f") if ok and "s" in ok[0] else "–"
        extra = [r["extra_per_view_s"] for r in ok if "extra_per_view_s" in r]
        out.append(f"| {name} | " + " | ".join(means) + f" | {s} | {fmt(float(np.median(extra)), '.2f') if extra else '–'} | {len(bad)} |")
    out += ["", "Per mesh (vol IoU / side IoU / F@0.05):", "",
            "| mesh | " + " | ".join(inputs) + " |", "|---|" + "---:|" * len(inputs)]
    for case in dict.fromkeys(r["case"] for r in rows):
        cells = []
        for name in inputs:
            r = next((r for r in rows if r["case"] == case and r["input"] == name), None)
            cells.append("error" if r is None or "error" in r else f"{r['vol_iou']:.2f} / {r['side_iou']:.2f} / {r['f05']:.2f}")
        out.append(f"| {case} | " + " | ".join(cells) + " |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--cases", help="comma-separated case names")
    ap.add_argument("--sets", default="2,3,4", help="view sets to run (numbers of views)")
    ap.add_argument("--base", type=Path, help="also score DIR/reconstruct (another checkout) in the same run")
    ap.add_argument("--no-rgbd", action="store_true", help="skip the RGB-D rows")
    ap.add_argument("--fov", type=float, help="pinhole pictures with this vertical field of view (degrees)")
    ap.add_argument("--out-md", type=Path, default=OUT_MD, help="where the tables go (default results/multiview.md)")
    ap.add_argument("--texture", action="store_true", help="unlit striped pictures; score the held-out texture PSNR")
    args = ap.parse_args(argv)
    global FOV, TEXTURE
    FOV, TEXTURE = args.fov, args.texture
    sets = tuple(int(n) for n in args.sets.split(","))
    pipelines = {"": multiview_of(None)}
    if args.base:
        pipelines["base "] = multiview_of(args.base.resolve())
    names = set(args.cases.split(",")) if args.cases else set(QUICK) if args.quick else None
    rows = []
    for case in CASES:
        if case.name in SKIP or (names and case.name not in names):
            continue
        t = time.perf_counter()
        rows += run_case(case, args.size, sets, pipelines, not args.no_rgbd)
        print(f"{case.name}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    lines = tables(rows)
    print("\n".join(lines))
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(rows, indent=1))
    out_md = args.out_md
    out_md.parent.mkdir(parents=True, exist_ok=True)
    cmd = "python benchmarks/multiview.py " + " ".join(argv if argv is not None else sys.argv[1:])
    errors = [f"- {r['case']} {r['input']}: {r['error']}" for r in rows if "error" in r]
    out_md.write_text("# Multi-view and RGB-D on the corpus meshes\n\n"
                      f"`{cmd.strip()}` ({time.strftime('%Y-%m-%d')}, {args.size} px orthographic renders; "
                      f"goals with 3 views: vol IoU >= {GOALS['vol_iou']}, side IoU >= {GOALS['side_iou']})\n\n"
                      + "\n".join(lines) + ("\n\nFailures:\n" + "\n".join(errors) if errors else "") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

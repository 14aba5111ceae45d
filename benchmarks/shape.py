"""Shape benchmark that can fail: single-view reconstructions against the true shape and an ellipsoid.

For each corpus mesh (the oriented cases of benchmarks/quality.py) and each input view
(orthographic and perspective 20 deg vertical FOV; yaw 0 and 35 deg), render the input picture
(RGBA, textured where the corpus has a texture), run the pipeline's own path
(reconstruct.segment.segment + reconstruct.modes.reconstruct, mode auto and inflate; fov_deg is passed
for perspective pictures when the code has that parameter) and compare, in the camera's frame:

Alignment without ICP (the pipeline's placement convention, applied to both meshes): the truth is
the original turned so the input camera looks along -Z; both meshes are scaled so their height (Y
extent, the vertical of the picture) is 1, x and z centred on the bounding-box centre and the floor
(min y) put at 0, exactly as reconstruct.assemble.finish places its output. Nothing else is fitted.

  * in IoU: silhouettes from the input direction with the input's projection (orthographic, or 20 deg
    perspective from the input camera's distance in the truth's units, aimed at the bbox centre), each
    framed by its own projected extents like the input (render fit "view": the output's placement does
    not say where the camera stood, so a 2D shift and scale are forgiven, nothing else).
  * side IoU: orthographic silhouettes from yaw 90 (the depth profile), one camera framing the union of
    both boxes.
  * vol IoU: both voxelised at 64^3 in the union box: solid by ray parity, the majority of x, y and z
    rays (robust to small holes and open shells), united with the voxels the surface passes through
    (so a zero-thickness cut-out still occupies its layer).
  * F@0.025 / F@0.05: F-score at that fraction of the truth's bbox diagonal, surface samples, no ICP;
    F@0.05 icp: after rigid point-to-point ICP (rec -> truth); CD-L1: mean of both one-way mean
    nearest-neighbour distances, fraction of the diagonal, no ICP.
  * depth: output Z extent / true Z extent (after the height normalisation).
  * rim p95: 95th percentile of the angle between neighbouring faces' normals on the side band
    (|n_z| < 0.5) of the output: depth-grid terraces make it large (see rim_spread).
The ellipsoid baseline is the ellipsoid inscribed in the truth's bounding box, scored the same way.
The "perfect depth" row is a reference, not a method a picture allows: the same view given the z-depth a
perfect sensor reads off the visible surface (reconstruct/depthcast.py, ray cast) through the RGB-D mode
(front surface exact, back completed about the rim). It bounds what reading the visible surface can give;
what it misses is the unseen back, which only another view or a learned prior supplies. The "ideal relative
depth" row is what a perfect *relative* monocular model (Depth Anything's contract: inverse depth up to scale and
offset, here with a wall behind the object) would give through the `depth` backend's own conversion.
With --model KIND=DIR (as `meshsmith serve --model`; KIND depth, shap-e or hunyuan3d) each model adds a row
"model KIND": the backend's own function on the input picture (depth through the RGB-D mode, the mesh
models' meshes as they come), scored the same way: the single-view goal measured on real weights.

Run:  .venv/bin/python benchmarks/shape.py [--quick] [--base DIR] [--no-depth] [--model KIND=DIR ... [--device cuda]]
  --base DIR: also score the reconstruct/ package of another checkout (e.g. `git worktree add DIR REV`)
  in the same run, as "before". Writes benchmarks/out/shape.json and (full run) benchmarks/results/shape.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import CASES, icp, load_case  # noqa: E402
from reconstruct.cameras import locate_crop  # noqa: E402
from reconstruct.depthcast import rgbd  # noqa: E402
from reconstruct.learned.depth import flip_inverse_depth  # noqa: E402  (numpy only; torch loads inside predict)
from reconstruct.render import Camera, RenderParams, fit_distance, mask_iou, render, render_silhouette  # noqa: E402

OUT_JSON = ROOT / "benchmarks" / "out" / "shape.json"
OUT_MD = ROOT / "benchmarks" / "results" / "shape.md"
FOV = 20.0
GRID = 64
FLAT = 0.01    # a truth thinner than this fraction of its height has no side view, volume or depth ratio
QUICK = ("spot", "homer", "suzanne", "woody")
METRICS = ("in_iou", "side_iou", "vol_iou", "f@0.025", "f@0.05", "f@0.05icp", "cd_l1", "depth", "rim_p95")
GOALS = {"side_iou": 0.72, "vol_iou": 0.55, "in_iou": 0.97}


def load_pipeline(code: Path | None):
    """(segment, reconstruct, ReconstructParams) from this checkout or from `code`/reconstruct."""
    if code is None:
        from reconstruct.modes import ReconstructParams, reconstruct
        from reconstruct.segment import segment
        return segment, reconstruct, ReconstructParams
    name = "reconstruct_base"
    spec = importlib.util.spec_from_file_location(name, code / "reconstruct" / "__init__.py",
                                                  submodule_search_locations=[str(code / "reconstruct")])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[name] = pkg
    spec.loader.exec_module(pkg)
    modes = importlib.import_module(f"{name}.modes")
    seg = importlib.import_module(f"{name}.segment")
    return seg.segment, modes.reconstruct, modes.ReconstructParams


def placed(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The pipeline's placement: height 1, x/z centred on the bbox, floor at y = 0 (a copy)."""
    out = mesh.copy()
    lo, hi = out.bounds
    out.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
    out.apply_scale(1.0 / max(hi[1] - lo[1], 1e-12))
    return out


def in_camera_frame(mesh: trimesh.Trimesh, yaw: float) -> trimesh.Trimesh:
    """The mesh turned so that a camera at yaw `yaw` becomes the front camera (yaw 0)."""
    out = mesh.copy()
    out.apply_transform(trimesh.transformations.rotation_matrix(math.radians(-yaw), [0, 1, 0]))
    return out


def ellipsoid(bounds: np.ndarray) -> trimesh.Trimesh:
    e = trimesh.creation.icosphere(subdivisions=4)
    lo, hi = bounds
    e.apply_scale((hi - lo) / 2.0)
    e.apply_translation((lo + hi) / 2.0)
    return e


def _union_bounds(*meshes: trimesh.Trimesh) -> tuple:
    lo = np.min([m.bounds[0] for m in meshes], axis=0)
    hi = np.max([m.bounds[1] for m in meshes], axis=0)
    return tuple(map(tuple, (lo, hi)))


def _parity(v: np.ndarray, faces: np.ndarray, lo: np.ndarray, cell: np.ndarray, axis: int) -> np.ndarray:
    """(G, G, G) bool: voxel centres inside by ray parity along `axis` (rays through the centres)."""
    a, b = [i for i in range(3) if i != axis]
    g = (v - lo) / cell - 0.5 + 1e-7 * np.array([1.0, 2.0, 3.0])  # centres at integers, off any vertex
    t = g[faces]                                                 # (F, 3, 3)
    pa, pb, pz = t[:, :, a], t[:, :, b], t[:, :, axis]
    i0 = np.clip(np.ceil(pa.min(1)), 0, GRID).astype(int)
    i1 = np.clip(np.floor(pa.max(1)), -1, GRID - 1).astype(int)
    j0 = np.clip(np.ceil(pb.min(1)), 0, GRID).astype(int)
    j1 = np.clip(np.floor(pb.max(1)), -1, GRID - 1).astype(int)
    ni, nj = np.maximum(i1 - i0 + 1, 0), np.maximum(j1 - j0 + 1, 0)
    cnt = ni * nj
    tri = np.repeat(np.arange(len(faces)), cnt)
    k = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ci = i0[tri] + k // np.maximum(nj[tri], 1)
    cj = j0[tri] + k % np.maximum(nj[tri], 1)
    x0, x1, x2 = pa[tri, 0], pa[tri, 1], pa[tri, 2]
    y0, y1, y2 = pb[tri, 0], pb[tri, 1], pb[tri, 2]
    d = (y1 - y2) * (x0 - x2) + (x2 - x1) * (y0 - y2)
    w0 = ((y1 - y2) * (ci - x2) + (x2 - x1) * (cj - y2)) / np.where(d == 0, 1, d)
    w1 = ((y2 - y0) * (ci - x2) + (x0 - x2) * (cj - y2)) / np.where(d == 0, 1, d)
    w2 = 1 - w0 - w1
    hit = (d != 0) & (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
    z = (w0 * pz[tri, 0] + w1 * pz[tri, 1] + w2 * pz[tri, 2])[hit]
    col = (ci * GRID + cj)[hit]
    key = np.sort(col + np.clip((z + 0.5) / GRID, 0, 1 - 1e-9))
    cols = np.arange(GRID * GRID)
    start = np.searchsorted(key, cols)
    q = cols[:, None] + (np.arange(GRID)[None, :] + 0.5) / GRID
    below = np.searchsorted(key, q.ravel()).reshape(GRID * GRID, GRID) - start[:, None]
    inside = (below % 2 == 1).reshape(GRID, GRID, GRID)           # [a, b, axis]
    order = np.argsort([a, b, axis])
    return np.transpose(inside, order)


def voxels(mesh: trimesh.Trimesh, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(G, G, G) bool occupancy of the mesh in the box [lo, hi]: parity majority over 3 axes + surface."""
    cell = (hi - lo) / GRID
    v, f = np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces)
    votes = sum(_parity(v, f, lo, cell, ax).astype(np.int8) for ax in range(3))
    pts = trimesh.sample.sample_surface(mesh, 20 * GRID * GRID, seed=3)[0]
    idx = np.clip(((pts - lo) / cell).astype(int), 0, GRID - 1)
    occ = votes >= 2
    occ[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    return occ


def volume_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def surface_metrics(rec: trimesh.Trimesh, truth: trimesh.Trimesh, samples: int) -> dict:
    diag = float(np.linalg.norm(truth.extents))
    a = trimesh.sample.sample_surface(truth, samples, seed=0)[0] / diag
    b = trimesh.sample.sample_surface(rec, samples, seed=1)[0] / diag
    ta = cKDTree(a)
    out = {}
    for tag, bb in (("", b), ("icp", icp(b, a, ta))):
        d_ba, _ = ta.query(bb)
        d_ab, _ = cKDTree(bb).query(a)
        taus = (0.025, 0.05) if not tag else (0.05,)
        for tau in taus:
            p, r = float(np.mean(d_ba < tau)), float(np.mean(d_ab < tau))
            out[f"f@{tau}{tag}"] = 0.0 if p + r == 0 else 2 * p * r / (p + r)
        if not tag:
            out["cd_l1"] = float((d_ab.mean() + d_ba.mean()) / 2)
    return out


def rim_spread(mesh: trimesh.Trimesh, band: float = 0.5) -> tuple[float, float]:
    """(mean, 95th percentile) angle in degrees between the normals of neighbouring faces on the side
    band (faces whose normal is within 30 deg of the picture plane, |n_z| < band): depth-grid terraces
    show up as a heavy tail of large angles."""
    n = mesh.face_normals
    adj = mesh.face_adjacency
    side = np.abs(n[:, 2]) < band
    keep = side[adj[:, 0]] & side[adj[:, 1]]
    cos = np.clip(np.einsum("ij,ij->i", n[adj[keep, 0]], n[adj[keep, 1]]), -1.0, 1.0)
    ang = np.degrees(np.arccos(cos))
    return (float(ang.mean()), float(np.percentile(ang, 95))) if ang.size else (0.0, 0.0)


def score(rec: trimesh.Trimesh, truth: trimesh.Trimesh, target: np.ndarray, in_cam: Camera,
          size: int, samples: int) -> dict:
    """Metrics of a placed reconstruction against the placed truth (see the module docstring)."""
    mask = render_silhouette(rec, in_cam, size=size)
    box = _union_bounds(rec, truth)
    side = Camera(yaw_deg=90.0, fit="sphere", bounds=box)
    lo, hi = np.array(box[0]), np.array(box[1])
    pad = 0.02 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    out = {
        "in_iou": mask_iou(mask, target),
        "side_iou": mask_iou(render_silhouette(rec, side, size=size), render_silhouette(truth, side, size=size)),
        "vol_iou": volume_iou(voxels(rec, lo, hi), voxels(truth, lo, hi)),
        "depth": float(rec.extents[2] / max(truth.extents[2], 1e-9)),
    }
    out.update(surface_metrics(rec, truth, samples))
    if truth.extents[2] < FLAT * truth.extents[1]:  # zero-thickness truth (woody): no depth to compare
        out.update(side_iou=None, vol_iou=None, depth=None)
    return out


def views(quick: bool) -> list[tuple[str, float | None, float]]:
    out = [("ortho", None, 0.0), ("persp", FOV, 0.0)]
    if not quick:
        out += [("ortho", None, 35.0), ("persp", FOV, 35.0)]
    return out


def run_view(orig: trimesh.Trimesh, fov: float | None, yaw: float, size: int, samples: int,
             pipelines: dict, modes: tuple[str, ...], symmetric: bool = False, oracle: bool = True,
             models=None) -> dict:
    base = in_camera_frame(orig, yaw)   # the camera now sits on +Z
    if fov is None:
        cam = Camera(fit="view")
        rgba = render(base, cam, RenderParams(size=size))
    else:
        dist = fit_distance(np.asarray(base.vertices), Camera(fov_deg=fov), RenderParams.margin)
        rgba = render(base, Camera(fov_deg=fov, fit="none", distance=dist), RenderParams(size=size))
    truth = placed(base)
    s = 1.0 / max(base.extents[1], 1e-12)
    # each mesh framed by its own projected extents (fit "view"), from the input camera's distance
    in_cam = Camera(fit="view") if fov is None else Camera(fov_deg=fov, fit="view", distance=dist * s)
    target = render_silhouette(truth, in_cam, size=size)
    out = {"ellipsoid": score(ellipsoid(truth.bounds), truth, target, in_cam, size, samples)}
    out["ellipsoid"]["rim_p95"] = None
    for label, (segment, reconstruct, Params) in pipelines.items():
        seg = segment(rgba)
        for mode in modes:
            kw = {"mode": mode}
            if fov is not None and "fov_deg" in Params.__dataclass_fields__:
                kw["fov_deg"] = fov
            if symmetric and "symmetric" in Params.__dataclass_fields__:
                kw["symmetric"] = True
            t0 = time.perf_counter()
            rec = reconstruct(seg, Params(**kw))
            dt = time.perf_counter() - t0
            r = score(placed(rec.mesh), truth, target, in_cam, size, samples)
            r["rim_mean"], r["rim_p95"] = rim_spread(rec.mesh)
            r.update(mode_used=rec.mode, time_s=dt, confidence=getattr(rec, "confidence", None))
            out[f"{label}/{mode}"] = r
    if oracle:
        img, depth = rgbd(base, size, fov_deg=fov)
        mesh = from_depth(img, depth, "m", fov, target_height_m=float(base.extents[1]))  # ortho: the pixel size
        out["perfect depth"] = score(placed(mesh), truth, target, in_cam, size, samples)
        mesh = from_depth(img, flip_inverse_depth(ideal_inverse_depth(depth)), "affine", fov)
        out["ideal relative depth"] = score(placed(mesh), truth, target, in_cam, size, samples)
    for kind, _ in (models.models if models else ()):
        mesh = LEARNED[kind](rgba, fov, models)
        out[f"model {kind}"] = score(placed(mesh), truth, target, in_cam, size, samples)
    return out


def ideal_inverse_depth(depth: np.ndarray) -> np.ndarray:
    """What an ideal relative model (Depth Anything's contract) gives for a (S, S) z-depth map, NaN off the object:
    inverse depth up to an arbitrary scale and offset, a wall at 1.5x the farthest point behind the object."""
    inverse = 1.0 / np.where(np.isfinite(depth), depth, 1.5 * np.nanmax(depth))
    return 3.7 * inverse + 0.2


def _learned_depth(rgba: np.ndarray, fov: float | None, config) -> trimesh.Trimesh:
    from reconstruct.learned.depth import predict_depth
    pred = predict_depth(rgba[..., :3], config)
    return from_depth(rgba, pred.depth, pred.units, fov)


def _learned_mesh(kind: str):
    def run(rgba: np.ndarray, fov: float | None, config) -> trimesh.Trimesh:
        from reconstruct.learned.hunyuan import hunyuan_from_picture
        from reconstruct.learned.shape import shape_from_picture
        from reconstruct.modes import ReconstructParams
        from reconstruct.segment import segment
        made = {"shap-e": shape_from_picture, "hunyuan3d": hunyuan_from_picture}[kind]
        return made(segment(rgba), config, ReconstructParams(fov_deg=fov or 0.0), seed=0).reconstruction.mesh
    return run


# --model KIND=DIR -> (RGBA picture, fov or None, LearnedConfig) -> mesh, through the backend's own function
LEARNED = {"depth": _learned_depth, "shap-e": _learned_mesh("shap-e"), "hunyuan3d": _learned_mesh("hunyuan3d")}


def from_depth(img: np.ndarray, depth: np.ndarray, units: str, fov: float | None, **params) -> trimesh.Trimesh:
    """The RGB-D mode on a (S, S, 4) picture and its aligned (S, S) depth map (principal point at the centre)."""
    from reconstruct.modes import ReconstructParams
    from reconstruct.rgbd import crop_depth, reconstruct_rgbd
    from reconstruct.segment import segment
    seg = segment(img)
    y, x = locate_crop(img, seg)
    crop = crop_depth(depth, img.shape[:2], (y, x), seg.mask.shape)
    size = img.shape[0]
    return reconstruct_rgbd(seg, crop, units, ReconstructParams(fov_deg=fov or 0.0, **params),
                            principal=(size / 2 - x, size / 2 - y), picture_height=size).mesh


def mean_rows(rows: list[dict], key: str) -> dict:
    vals = [r["results"][key] for r in rows if key in r["results"]]
    out = {}
    for m in METRICS:
        xs = [v[m] for v in vals if v.get(m) is not None and not (isinstance(v[m], float) and math.isnan(v[m]))]
        out[m] = float(np.mean(xs)) if xs else None
    return out


def fmt_row(name: str, r: dict, extra: str = "") -> str:
    cells = " | ".join("-" if r.get(m) is None else f"{r[m]:.3f}" for m in METRICS)
    return f"| {name} | {cells} |{extra}"


def tables(rows: list[dict]) -> list[str]:
    keys = sorted({k for r in rows for k in r["results"]}, key=lambda k: (k != "ellipsoid", k))
    head = "| {} | in IoU | side IoU | vol IoU | F@0.025 | F@0.05 | F@0.05 ICP | CD-L1 | depth ratio | rim p95 deg |"
    sep = "|---" * 10 + "|"
    out = ["### Means over all meshes and views", "", head.format("method"), sep]
    for k in keys:
        out.append(fmt_row(k, mean_rows(rows, k)))
    for view in sorted({r["view"] for r in rows}):
        sub = [r for r in rows if r["view"] == view]
        out += ["", f"### Means, view {view}", "", head.format("method"), sep]
        for k in keys:
            out.append(fmt_row(k, mean_rows(sub, k)))
    out += ["", "### Per mesh and view", "", head.format("mesh / view / method") + " used |", sep + "---|"]
    for r in rows:
        for k in keys:
            res = r["results"][k]
            out.append(fmt_row(f"{r['mesh']} / {r['view']} / {k}", res, f" {res.get('mode_used', '-')} |"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"{len(QUICK)} meshes, front views only, 256 px, 3k samples")
    ap.add_argument("--base", type=Path, help="checkout whose reconstruct/ is scored too, as 'before'")
    ap.add_argument("--only", nargs="*", help="mesh names to run")
    ap.add_argument("--modes", nargs="*", default=["auto", "inflate"])
    ap.add_argument("--no-depth", action="store_true", help="skip the perfect-depth (RGB-D) reference row")
    ap.add_argument("--model", action="append", default=[], metavar="KIND=DIR",
                    help=f"also score a learned backend's model ({', '.join(LEARNED)}), as `serve --model`")
    ap.add_argument("--device", default="cpu", help="device for --model (cpu, cuda)")
    ap.add_argument("--symmetric", action="store_true", help="inflate's back mirrors the front (where the "
                    "code has that parameter); tables printed, results/shape.md left alone")
    args = ap.parse_args(argv)
    pipelines = {}
    if args.base:
        pipelines["before"] = load_pipeline(args.base.resolve())
    pipelines["after"] = load_pipeline(None)
    models = None
    if args.model:
        from reconstruct.learned.base import LearnedConfig, load_native_libraries
        given = dict(m.split("=", 1) for m in args.model)
        if set(given) - set(LEARNED):
            ap.error(f"--model KIND=DIR: KIND is one of {', '.join(LEARNED)}")
        load_native_libraries()  # before the first render, or triton's import crashes the process
        models = LearnedConfig.build(given, args.device)
    size, samples = (256, 3000) if args.quick else (512, 10000)
    cases = [c for c in CASES if (c.name in args.only if args.only else not args.quick or c.name in QUICK)]
    start = time.perf_counter()
    rows = []
    for case in cases:
        orig = load_case(case)
        for proj, fov, yaw in views(args.quick):
            view = f"{proj} yaw {yaw:g}"
            res = run_view(orig, fov, yaw, size, samples, pipelines, tuple(args.modes), args.symmetric,
                           not args.no_depth, models)
            rows.append({"mesh": case.name, "view": view, "results": res})
            print(f"{case.name} {view}: " + "  ".join(
                f"{k} side {v['side_iou'] or 0:.2f} vol {v['vol_iou'] or 0:.2f} in {v['in_iou']:.3f} "
                f"depth {v['depth'] or 0:.2f} F5 {v['f@0.05']:.2f}"
                for k, v in res.items()), flush=True)
    cmd = "benchmarks/shape.py" + (" --quick" if args.quick else "") + (" --base DIR" if args.base else "") \
        + (" --symmetric" if args.symmetric else "") + "".join(f" --model {m.split('=')[0]}=DIR" for m in args.model)
    meta = {"command": f".venv/bin/python {cmd}", "size": size, "samples": samples,
            "date": time.strftime("%Y-%m-%d"), "wall_s": time.perf_counter() - start,
            "machine": f"{platform.machine()}, 2-core CPU shared with other jobs, Python {platform.python_version()}, "
                       "Mesa llvmpipe via EGL"}
    text = tables(rows)
    print("\n".join(text))
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    if not args.quick and not args.only and not args.symmetric:
        OUT_MD.write_text("\n".join([
            "# Shape quality (single view, benchmarks/shape.py)", "",
            f"Command: `{meta['command']}` ({meta['wall_s']:.0f} s); {meta['machine']}; {size} px inputs, "
            f"{samples} surface samples; generated {meta['date']}. Metrics and alignment: see the docstring of "
            "benchmarks/shape.py. before = the reconstruct/ of the branch start, after = this commit; "
            "ellipsoid = the ellipsoid inscribed in the true bounding box (a no-information baseline); "
            "perfect depth = the RGB-D mode given the visible surface's exact depth (a reference bound, not a "
            "single-picture method); ideal relative depth = the same through an ideal relative monocular model "
            "(inverse depth up to scale and offset) and the depth backend's conversion.",
            f"Goals (single view): side IoU >= {GOALS['side_iou']}, volume IoU >= {GOALS['vol_iou']}, "
            f"depth ratio 0.85-1.15, input-view IoU >= {GOALS['in_iou']}. woody is a zero-thickness cut-out: "
            "its side IoU, volume IoU and depth ratio are undefined (-) and left out of those means.",
            "", *text, ""]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Reconstruction quality, measured the way image-to-3D papers do: render, reconstruct, compare.

For each corpus mesh: orient it so the camera sees it sensibly, render it from the
front (orthographic, RGBA, its texture where it has one), segment + reconstruct
it with every mode, then
  * silhouette IoU: the reconstruction re-rendered from the input view (yaw 0,
    same framing rule: projected extents fill the image minus 5 % per side)
    against the input alpha (>= 128);
  * geometry: both meshes centred on their bbox centre and scaled so the larger
    image-plane extent (x or y) is 1 (the unit bounding box; depth is what a
    single view cannot tell), rigid point-to-point ICP (rec -> original, no
    scale), then on N surface samples each: Chamfer (mean squared NN distance,
    both ways, summed), mean NN distance, F-score at tau 0.05 / 0.1, and the
    share of squared NN residual along z (the depth axis);
  * time: segment once + reconstruct per mode.

Run:  .venv/bin/python benchmarks/quality.py [--quick]
Writes benchmarks/out/quality.json and benchmarks/results/quality.md.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconstruct.render import Camera, RenderParams, mask_iou, render, render_silhouette  # noqa: E402

MESHES = ROOT.parent / "shared" / "corpus" / "meshes"
OUT_JSON = ROOT / "benchmarks" / "out" / "quality.json"
OUT_MD = ROOT / "benchmarks" / "results" / "quality.md"
MODES = ("inflate", "revolve", "extrude", "relief", "voxel", "auto")
TAUS = (0.05, 0.1)


@dataclass(frozen=True)
class Case:
    """A corpus mesh and the rotations (axis, degrees; applied in order) that put
    the wanted view on +Z (yaw-0 camera), +Y up."""

    name: str
    path: str
    rotations: tuple[tuple[str, float], ...]
    view: str
    texture: str | None = None


CASES = (
    Case("cow", "cow.obj", (), "side-on profile, head to the right (as shipped)"),
    Case("spot", "spot/spot_triangulated.obj", (("y", 90.0),), "side-on profile (turned 90 deg about +Y), textured",
         texture="spot/spot_texture.png"),
    Case("homer", "homer.obj", (), "front-on (as shipped)"),
    Case("bunny", "stanford-bunny.obj", (), "classic Stanford view, side-on (as shipped)"),
    Case("suzanne", "suzanne.obj", (), "front-on face (as shipped)"),
    Case("teapot", "teapot.obj", (), "side-on, spout right (as shipped)"),
    Case("beetle", "beetle.obj", (("y", 90.0),), "side-on profile of the car (turned 90 deg about +Y)"),
    Case("fandisk", "fandisk.obj", (), "front-on (as shipped)"),
    Case("horse", "horse.ply", (("x", -90.0), ("y", 90.0)), "side-on profile (shipped Z-up: -90 deg about X, then 90 about Y)"),
    Case("woody", "woody.obj", (), "front-on; the mesh is flat (z = 0), a 2D cut-out"),
)
QUICK = ("cow", "spot", "suzanne", "woody")


def load_case(case: Case) -> trimesh.Trimesh:
    """The oriented original mesh (textured where the corpus has a texture)."""
    mesh = trimesh.load(MESHES / case.path, force="mesh", process=False)
    if case.texture:
        mesh.visual = trimesh.visual.TextureVisuals(uv=mesh.visual.uv, image=Image.open(MESHES / case.texture))
    for axis, deg in case.rotations:
        vec = {"x": [1, 0, 0], "y": [0, 1, 0], "z": [0, 0, 1]}[axis]
        mesh.apply_transform(trimesh.transformations.rotation_matrix(math.radians(deg), vec))
    return mesh


def normalise(points: np.ndarray, ref: trimesh.Trimesh) -> np.ndarray:
    """(N, 3) points centred on ref's bbox centre, scaled by 1 / max(x, y extent)."""
    lo, hi = ref.bounds
    return (points - (lo + hi) / 2.0) / max(float(max(hi[:2] - lo[:2])), 1e-12)


def icp(src: np.ndarray, dst: np.ndarray, tree: cKDTree, iterations: int = 60) -> np.ndarray:
    """Rigid point-to-point ICP: returns src (N, 3) moved onto dst (M, 3) (tree = its KD-tree)."""
    cur = src.copy()
    prev = np.inf
    for _ in range(iterations):
        dist, idx = tree.query(cur)
        match = dst[idx]
        mc, mm = cur.mean(axis=0), match.mean(axis=0)
        u, _, vt = np.linalg.svd((cur - mc).T @ (match - mm))
        d = np.sign(np.linalg.det(vt.T @ u.T))
        rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
        cur = (cur - mc) @ rot.T + mm
        err = float(np.mean(dist**2))
        if prev - err < 1e-9:
            break
        prev = err
    return cur


def reference(orig: trimesh.Trimesh, samples: int) -> tuple[np.ndarray, cKDTree]:
    """(N, 3) normalised surface samples of the original and their KD-tree."""
    a = normalise(trimesh.sample.sample_surface(orig, samples, seed=0)[0], orig)
    return a, cKDTree(a)


def geometry_metrics(rec: trimesh.Trimesh, ref: tuple[np.ndarray, cKDTree], samples: int) -> dict:
    """Chamfer / F-score / depth share of rec against the reference (normalised, ICP-aligned)."""
    a, tree = ref
    b = normalise(trimesh.sample.sample_surface(rec, samples, seed=1)[0], rec)
    b = icp(b, a, tree)
    d_ba, i_ba = tree.query(b)  # precision side
    d_ab, i_ab = cKDTree(b).query(a)  # recall side
    out = {
        "chamfer_l2": float(np.mean(d_ab**2) + np.mean(d_ba**2)),
        "chamfer_l1": float((np.mean(d_ab) + np.mean(d_ba)) / 2.0),
    }
    for tau in TAUS:
        p, r = float(np.mean(d_ba < tau)), float(np.mean(d_ab < tau))
        out[f"f@{tau}"] = 0.0 if p + r == 0 else 2 * p * r / (p + r)
        out[f"precision@{tau}"], out[f"recall@{tau}"] = p, r
    res = np.concatenate([b - a[i_ba], a - b[i_ab]])
    out["depth_share"] = float((res[:, 2] ** 2).sum() / max((res**2).sum(), 1e-18))
    return out


def silhouette_metrics(rec: trimesh.Trimesh, target: np.ndarray, size: int) -> dict:
    """IoU and its parts: rec re-rendered from the input view vs the input mask (S, S)."""
    mask = render_silhouette(rec, Camera(), size=size)
    inter = np.logical_and(mask, target).sum()
    return {
        "iou": mask_iou(mask, target),
        "missing": float(1.0 - inter / max(target.sum(), 1)),  # input pixels the rec does not cover
        "extra": float(1.0 - inter / max(mask.sum(), 1)),      # rec pixels outside the input
        "area_ratio": float(mask.sum() / max(target.sum(), 1)),
    }


def run_case(case: Case, size: int, samples: int, modes: tuple[str, ...], api) -> dict:
    segment, SegmentParams, reconstruct, ReconstructParams = api
    orig = load_case(case)
    rgba = render(orig, Camera(), RenderParams(size=size))
    target = rgba[..., 3] >= 128
    out_dir = OUT_JSON.parent / "inputs"
    out_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba).save(out_dir / f"{case.name}.png")
    row: dict = {"name": case.name, "view": case.view, "faces": len(orig.faces), "modes": {}}
    t0 = time.perf_counter()
    seg = segment(rgba, SegmentParams())
    row["segment_s"] = time.perf_counter() - t0
    row["input_iou_check"] = mask_iou(render_silhouette(orig, Camera(), size=size), target)
    squashed = orig.copy()
    squashed.apply_scale([1.0, 1.0, 0.5])
    ref = reference(orig, samples)
    row["depth_x0.5_f@0.1"] = geometry_metrics(squashed, ref, samples)["f@0.1"]
    for mode in modes:
        res: dict = {}
        t0 = time.perf_counter()
        try:
            rec = reconstruct(seg, ReconstructParams(mode=mode))
        except Exception as exc:  # a mode may refuse a shape: record why
            res = {"error": f"{type(exc).__name__}: {exc}"}
            row["modes"][mode] = res
            continue
        res["reconstruct_s"] = time.perf_counter() - t0
        mesh = rec.mesh
        res.update(mode_used=getattr(rec, "mode", mode), reason=getattr(rec, "reason", ""),
                   faces=len(mesh.faces), watertight=bool(mesh.is_watertight),
                   bounds=np.round(mesh.bounds, 4).tolist())
        try:
            res.update(silhouette_metrics(mesh, target, size))
            res.update(geometry_metrics(mesh, ref, samples))
        except Exception:
            res["error"] = traceback.format_exc(limit=2)
        row["modes"][mode] = res
    return row


def load_api(wait_s: float):
    """The reconstruct engineer's API, polled for until wait_s has passed."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            from reconstruct.modes import ReconstructParams, reconstruct
            from reconstruct.segment import SegmentParams, segment

            return segment, SegmentParams, reconstruct, ReconstructParams
        except ImportError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"reconstruct API not available: {exc}")
            time.sleep(10)


def fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[dict]) -> list[str]:
    head = ("| mesh | mode | used | IoU | missing | extra | CD-L2 | CD-L1 | F@0.05 | F@0.1 | depth share | time s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = list(head)
    for row in rows:
        for mode, r in row["modes"].items():
            if "iou" not in r:
                err = r.get("error", "").strip().splitlines()[-1][:90] if r.get("error") else ""
                lines.append(f"| {row['name']} | {mode} | n/a | | | | | | | | | {err} |")
                continue
            t = row["segment_s"] + r["reconstruct_s"]
            lines.append(
                f"| {row['name']} | {mode} | {r['mode_used']} | {r['iou']:.3f} | {r['missing']:.3f} | {r['extra']:.3f} "
                f"| {fmt(r.get('chamfer_l2'), '.4f')} | {fmt(r.get('chamfer_l1'), '.4f')} | {fmt(r.get('f@0.05'))} "
                f"| {fmt(r.get('f@0.1'))} | {fmt(r.get('depth_share'), '.2f')} | {t:.2f} |"
            )
    return lines


def summary(rows: list[dict]) -> list[str]:
    by_mode: dict[str, list[dict]] = {}
    for row in rows:
        for mode, r in row["modes"].items():
            if "iou" in r:
                by_mode.setdefault(mode, []).append(r)
    lines = ["| mode | meshes | mean IoU | min IoU | mean F@0.05 | mean F@0.1 | mean depth share | mean time s |",
             "|---|---|---|---|---|---|---|---|"]
    seg = {row["name"]: row["segment_s"] for row in rows}
    for mode, rs in by_mode.items():
        names = [row["name"] for row in rows if "iou" in row["modes"].get(mode, {})]
        times = [seg[n] + r["reconstruct_s"] for n, r in zip(names, rs)]
        lines.append(
            f"| {mode} | {len(rs)} | {np.mean([r['iou'] for r in rs]):.3f} | {min(r['iou'] for r in rs):.3f} "
            f"| {np.mean([r['f@0.05'] for r in rs]):.3f} | {np.mean([r['f@0.1'] for r in rs]):.3f} "
            f"| {np.mean([r['depth_share'] for r in rs]):.2f} | {np.mean(times):.2f} |"
        )
    return lines


def write_md(rows: list[dict], meta: dict) -> None:
    views = [f"| {r['name']} | {r['faces']} | {r['view']} | {r['depth_x0.5_f@0.1']:.3f} |" for r in rows]
    text = [
        "# Reconstruction quality (single image -> mesh)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}  ",
        f"Input: {meta['size']} px RGBA orthographic front render (lit, textured where a texture exists); "
        f"{meta['samples']} surface samples per mesh; generated {meta['date']}.",
        "",
        "Metrics: IoU = silhouette of the reconstruction re-rendered from the input view vs the input alpha "
        "(missing = input pixels not covered, extra = reconstruction pixels outside the input). Geometry after "
        "centring both on their bbox centre, scaling the larger image-plane extent to 1 and rigid ICP: "
        "CD-L2 = mean squared NN distance both ways (summed), CD-L1 = mean NN distance (averaged), F-score at "
        "tau, depth share = fraction of the squared NN residual along z (the viewing axis). "
        "Time = segment + reconstruct.",
        "",
        "## Per mesh and mode",
        "",
        *table(rows),
        "",
        "## Per mode",
        "",
        *summary(rows),
        "",
        "## Views and the depth ceiling",
        "",
        "`F@0.1 depth x0.5` is the F-score of the *original itself* with its depth (z) halved: a reconstruction "
        "with a perfect silhouette and perfect shape but a depth scale off by 2x - the ambiguity one view "
        "cannot resolve.",
        "",
        "| mesh | faces | view | F@0.1 depth x0.5 |",
        "|---|---|---|---|",
        *views,
        "",
    ]
    if meta.get("notes"):
        text += ["## Notes", "", *meta["notes"], ""]
    OUT_MD.parent.mkdir(parents=True, exist_ok=True)
    OUT_MD.write_text("\n".join(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 meshes, modes auto+inflate, 256 px, 4k samples")
    ap.add_argument("--wait", type=float, default=0.0, help="seconds to wait for reconstruct.modes/segment to exist")
    ap.add_argument("--only", nargs="*", help="mesh names to run")
    args = ap.parse_args(argv)
    api = load_api(args.wait)
    size, samples, modes = (256, 4000, ("auto", "inflate")) if args.quick else (512, 10000, MODES)
    cases = [c for c in CASES if (not args.quick or c.name in QUICK) and (not args.only or c.name in args.only)]
    rows = []
    for case in cases:
        row = run_case(case, size, samples, modes, api)
        rows.append(row)
        print(f"{case.name}: segment {row['segment_s']:.2f}s " + " ".join(
            f"{m}={r['iou']:.3f}/{r['f@0.1']:.3f}" if "iou" in r else f"{m}=n/a" for m, r in row["modes"].items()),
            flush=True)
    meta = {
        "command": ".venv/bin/python benchmarks/quality.py" + (" --quick" if args.quick else ""),
        "machine": f"{platform.machine()} 2-core CPU (shared), {platform.system()}, Python {platform.python_version()}, "
                   "Mesa llvmpipe via EGL",
        "size": size, "samples": samples, "date": time.strftime("%Y-%m-%d"),
    }
    print("\n".join(table(rows)))
    print("\n".join(summary(rows)))
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    write_md(rows, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

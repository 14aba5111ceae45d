"""Decimation side by side on the same inputs: gltfpack, fast-simplification, PyMeshLab, meshsmith.

Run from the repository root:  .venv/bin/python benchmarks/decimation.py [--repeat 3] [--quick]
Writes benchmarks/results/decimation.md and decimation.json; scratch files go to benchmarks/out/decimation/.
Errors are the same sampled two-sided Hausdorff distance for every tool (validation.decimate.hausdorff),
as a share of the input's bbox diagonal. Timings are medians over --repeat runs (PyMeshLab: one run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "clients" / "python"))

from validation.corners import merge_positions  # noqa: E402
from validation.decimate import DecimateParams, decimate, hausdorff  # noqa: E402
from validation.formats import export_glb, load_mesh  # noqa: E402
from validation.report import mesh_stats  # noqa: E402

MESHES = ROOT.parent / "shared" / "corpus" / "meshes"
OUT = ROOT / "benchmarks" / "out" / "decimation"
RESULTS = ROOT / "benchmarks" / "results"
GLTFPACK = ROOT / "node_modules" / ".bin" / "gltfpack"


@dataclass
class Row:
    case: str
    tool: str
    seconds: float
    faces_in: int
    faces_out: int
    max_error_pct: float
    rms_error_pct: float
    watertight: bool
    uvs: bool
    note: str = ""
    vs_gltfpack: float = float("nan")


def bunny_dense(subdivisions: int) -> trimesh.Trimesh:
    """The Stanford bunny as shipped (open base), Loop-subdivided: 69k -> 1.1M faces for 2."""
    bunny = load_mesh((MESHES / "stanford-bunny.obj").read_bytes(), "stanford-bunny.obj")
    v, f = trimesh.remesh.subdivide_loop(bunny.vertices, bunny.faces, iterations=subdivisions)
    return trimesh.Trimesh(v, f, process=False)


def spot_dense(subdivisions: int) -> trimesh.Trimesh:
    """Spot with its texture, midpoint-subdivided with UVs (seams stay shared): 5.9k -> 375k for 3."""
    spot = load_mesh((MESHES / "spot" / "spot_triangulated.obj").read_bytes(), "spot.obj")
    v, f, uv = spot.vertices, spot.faces, spot.visual.uv
    for _ in range(subdivisions):
        v, f, attrs = trimesh.remesh.subdivide(v, f, vertex_attributes={"uv": uv})
        uv = attrs["uv"]
    image = Image.open(MESHES / "spot" / "spot_texture.png")
    return trimesh.Trimesh(v, f, visual=trimesh.visual.TextureVisuals(uv=uv, image=image), process=False)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run_gltfpack(mesh: trimesh.Trimesh, target: int, tag: str) -> tuple[float, trimesh.Trimesh]:
    src, dst = OUT / f"{tag}.in.glb", OUT / f"{tag}.gltfpack.glb"
    src.write_bytes(export_glb(mesh))
    ratio = f"{target / len(mesh.faces):.6f}"
    cmd = [str(GLTFPACK), "-i", str(src), "-o", str(dst), "-si", ratio, "-noq"]
    seconds, _ = _timed(lambda: subprocess.run(cmd, check=True, capture_output=True))
    return seconds, load_mesh(dst.read_bytes(), dst.name)


def run_fast_simplification(mesh: trimesh.Trimesh, target: int) -> tuple[float, trimesh.Trimesh]:
    import fast_simplification

    v, f = merge_positions(mesh)
    seconds, (v2, f2) = _timed(lambda: fast_simplification.simplify(v, f, target_count=target))
    return seconds, trimesh.Trimesh(v2, f2, process=False)


def run_pymeshlab(mesh: trimesh.Trimesh, target: int) -> tuple[float, trimesh.Trimesh]:
    import pymeshlab

    v, f = merge_positions(mesh)

    def go():
        ms = pymeshlab.MeshSet()
        ms.add_mesh(pymeshlab.Mesh(vertex_matrix=v, face_matrix=f.astype(np.int32)))
        ms.meshing_decimation_quadric_edge_collapse(targetfacenum=target)
        m = ms.current_mesh()
        return m.vertex_matrix(), m.face_matrix()

    seconds, (v2, f2) = _timed(go)
    return seconds, trimesh.Trimesh(v2, f2, process=False)


def run_ours(mesh: trimesh.Trimesh, target: int, tag: str) -> dict[str, tuple[float, trimesh.Trimesh]]:
    """Core decimation, decimate() with its error measurement, and GLB in -> GLB out like gltfpack."""
    params = DecimateParams(target_faces=target, error_samples=0)
    core, res = _timed(lambda: decimate(mesh, params))
    full, _ = _timed(lambda: decimate(mesh, DecimateParams(target_faces=target)))
    glb = (OUT / f"{tag}.in.glb").read_bytes()

    def glb_to_glb():
        m = load_mesh(glb, "in.glb")
        (OUT / f"{tag}.meshsmith.glb").write_bytes(export_glb(decimate(m, params).mesh))

    io_s, _ = _timed(glb_to_glb)
    return {"core": (core, res.mesh), "measured": (full, res.mesh), "glb": (io_s, res.mesh)}


def _row(case, tool, seconds, mesh, out, note="") -> Row:
    err_max, err_rms = hausdorff(mesh, out)
    stats = mesh_stats(out)
    uvs = getattr(out.visual, "uv", None) is not None
    return Row(case, tool, seconds, len(mesh.faces), len(out.faces), err_max * 100, err_rms * 100,
               stats.watertight, uvs, note)


def bench_case(case: str, mesh: trimesh.Trimesh, target: int, repeat: int, with_pymeshlab: bool) -> list[Row]:
    tag = case.split()[0]
    times: dict[str, list[float]] = {}
    outs: dict[str, trimesh.Trimesh] = {}
    for _ in range(repeat):  # interleaved, so load on the shared machine hits every tool alike
        s, outs["gltfpack"] = run_gltfpack(mesh, target, tag)
        times.setdefault("gltfpack", []).append(s)
        s, outs["fast"] = run_fast_simplification(mesh, target)
        times.setdefault("fast", []).append(s)
        for key, (s, out) in run_ours(mesh, target, tag).items():
            times.setdefault(key, []).append(s)
            outs[key] = out
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [
        _row(case, "gltfpack 1.3 (WASM), incl. GLB read/write", med["gltfpack"], mesh, outs["gltfpack"]),
        _row(case, "fast-simplification 0.2, default (agg=7)", med["fast"], mesh, outs["fast"]),
    ]
    if with_pymeshlab:
        s, out = run_pymeshlab(mesh, target)
        rows.append(_row(case, "PyMeshLab quadric edge collapse, defaults", s, mesh, out))
    rows += [
        _row(case, "meshsmith decimate(), simplification only", med["core"], mesh, outs["core"]),
        _row(case, "meshsmith decimate(), incl. Hausdorff measurement", med["measured"], mesh, outs["measured"]),
        _row(case, "meshsmith, GLB read + decimate + GLB write", med["glb"], mesh, outs["glb"]),
    ]
    for r in rows:
        r.vs_gltfpack = r.seconds / med["gltfpack"]
    return rows


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in ("trimesh", "fast-simplification", "pymeshlab", "numpy"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average": os.getloadavg(), "versions": versions}


def write(rows: list[Row], info: dict, command: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "decimation.json").write_text(json.dumps({"machine": info, "command": command,
                                                          "rows": [asdict(r) for r in rows]}, indent=2))
    lines = [
        "# Decimation benchmark",
        "",
        f"Command: `{command}` (from the repository root). Machine: {info['cpu']}, {info['cores']} cores "
        f"shared with other jobs (load average at start {info['load_average'][0]:.1f}), Python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".",
        "",
        "Error = sampled two-sided Hausdorff distance (PyMeshLab, 50k samples a side + the output's vertices), "
        "same code for every tool, as % of the input's bbox diagonal. Times are medians of interleaved runs "
        "(PyMeshLab: one run); `x gltfpack` divides by gltfpack's time on the same case.",
        "",
        "| case | tool | time (s) | x gltfpack | faces out | max error % | RMS error % | watertight | UVs |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.tool} | {r.seconds:.2f} | {r.vs_gltfpack:.2f} | {r.faces_out:,} | "
            f"{r.max_error_pct:.3f} | {r.rms_error_pct:.4f} | {'yes' if r.watertight else 'no'} | {'yes' if r.uvs else 'no'} |"
        )
    lines += ["", "Inputs: the corpus bunny as shipped (open base) Loop-subdivided to 1.1M faces; spot with its "
              "texture midpoint-subdivided (UVs interpolated, seams shared; midpoint subdivision adds no detail, "
              "so its errors are lower than a real scan's). Watertight: of the output, after merging vertices by "
              "position (the bunny input is open, so no tool can close it). meshsmith uses fast-simplification "
              "with agg=2 on a unit-scaled copy, open borders and UV seams locked; its error measurement "
              "(PyMeshLab Hausdorff) is the difference between its two decimate() rows.", ""]
    (RESULTS / "decimation.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller inputs, no PyMeshLab (smoke test)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    sub = 1 if args.quick else 2
    cases = [
        (f"bunny {len(bunny_dense(0).faces) * 4 ** sub // 1000}k -> 50k", bunny_dense(sub), 50_000),
        ("spot (textured) -> 20k", spot_dense(sub + 1), 20_000),
    ]
    rows: list[Row] = []
    for case, mesh, target in cases:
        case = case.replace("spot (textured)", f"spot textured {len(mesh.faces) // 1000}k")
        print(f"{case}: {len(mesh.faces):,} faces", flush=True)
        case_rows = bench_case(case, mesh, target, args.repeat, with_pymeshlab=not args.quick)
        rows += case_rows
        for r in case_rows:
            print(f"  {r.tool:52s} {r.seconds:6.2f}s  x{r.vs_gltfpack:4.2f}  {r.faces_out:>7,}  "
                  f"max {r.max_error_pct:.3f}%  rms {r.rms_error_pct:.4f}%  wt={r.watertight} uv={r.uvs}", flush=True)
    command = ".venv/bin/python benchmarks/decimation.py" + (" --quick" if args.quick else "") + (
        f" --repeat {args.repeat}" if args.repeat != 3 else "")
    write(rows, info, command)


if __name__ == "__main__":
    main()

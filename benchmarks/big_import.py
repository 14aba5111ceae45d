"""Big import (issue 11 item 8): a 1.55M-triangle scan imported to 50k triangles, against gltfpack on the same file.

Run from the repository root:  .venv/bin/python benchmarks/big_import.py [--base REV] [--rounds N] [--profile]
The corpus horse (a Cyberware scan, 96,966 triangles) subdivided twice: 1,551,456 triangles, binary PLY.
Each round runs gltfpack (npm, `-si` to 50k) on the same mesh's GLB, then `server.pipeline.import_mesh` in a fresh
worker process (warmed on the corpus cow first, as server workers are) for this tree and, with --base, for a git
revision of it (old code vs new code in the same run). The worker stores what a job stores (the source and the
GLBs, previews and manifest, each through registry.blobs.BlobStore: sha256, write, fsync).
Prints per-stage wall and CPU seconds, then the ratios the issue asks for:
core import (load, decimate, repair, export, validate, store the source and LOD0) / gltfpack, and
(LODs + previews + their storing) / core. Medians over the rounds; the machine is shared, so compare within a run.
--profile adds one import per tree under cProfile on the CPU clock (where the seconds went, function by function).
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 50_000
CORE = ("load", "decimate", "repair", "export", "validate", "store")
TAIL = ("lods", "preview", "store_tail")


def _make_input(tmp: Path) -> tuple[Path, Path, int]:
    """horse.ply subdivided twice -> (binary PLY, GLB, faces)."""
    import trimesh

    sys.path.insert(0, str(ROOT))
    from tests.conftest import MESHES
    from validation.formats import export_glb

    mesh = trimesh.load(MESHES / "horse.ply", process=False).subdivide().subdivide()
    ply, glb = tmp / "horse16.ply", tmp / "horse16.glb"
    ply.write_bytes(trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=False))
    glb.write_bytes(export_glb(mesh))
    return ply, glb, len(mesh.faces)


def _gltfpack(glb: Path, out: Path, faces: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(ROOT / "node_modules/.bin/gltfpack"), "-i", str(glb), "-o", str(out), "-si",
                    f"{TARGET / faces:.6f}"], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def profile_worker(ply: Path, warm: Path) -> None:
    """One import under cProfile (CPU clock): the functions that took the most CPU seconds, themselves or below."""
    import cProfile
    import pstats

    from server.pipeline import ImportJob, import_mesh
    from validation.decimate import DecimateParams

    import_mesh(ImportJob(mesh=warm.read_bytes(), filename="cow.obj", decimate=DecimateParams(target_faces=2000)),
                lambda *a: None)
    job = ImportJob(mesh=ply.read_bytes(), filename="big.ply", decimate=DecimateParams(target_faces=TARGET))
    prof = cProfile.Profile(time.process_time)
    prof.runcall(import_mesh, job, lambda *a: None)
    pstats.Stats(prof).sort_stats("tottime").print_stats(14)


def worker(ply: Path, blobs: Path, warm: Path) -> None:
    """Runs in a fresh process with the tree under test first on sys.path; prints one JSON line."""
    from registry.blobs import BlobStore
    from server.pipeline import ImportJob, import_mesh
    from validation.decimate import DecimateParams

    import_mesh(ImportJob(mesh=warm.read_bytes(), filename="cow.obj",
                          decimate=DecimateParams(target_faces=2000)), lambda *a: None)  # warm: imports, GL context
    data = ply.read_bytes()
    marks = [("start", time.perf_counter(), time.process_time())]
    out = import_mesh(ImportJob(mesh=data, filename="big.ply", decimate=DecimateParams(target_faces=TARGET)),
                      lambda stage, *a: marks.append((stage, time.perf_counter(), time.process_time())))
    store = BlobStore(blobs)
    store.put(data)
    store.put(out.glb)
    marks.append(("store", time.perf_counter(), time.process_time()))
    for blob in (*out.lods, out.manifest, out.preview_png, out.turntable_webp):
        if blob:
            store.put(blob)
    marks.append(("store_tail", time.perf_counter(), time.process_time()))
    stages = {b[0]: {"wall": b[1] - a[1], "cpu": b[2] - a[2]} for a, b in itertools.pairwise(marks)}
    print(json.dumps({"stages": stages, "faces": out.stats["faces"], "watertight": out.stats["watertight"],
                      "verdict": out.reports[0]["verdict"], "notes": [n for n in out.repair["notes"] if "decimated" in n]}))


def _run_worker(root: Path, ply: Path, blobs: Path | None) -> dict | str:
    """A worker process on the tree at `root`: its JSON line, or with blobs None the profile it printed."""
    from tests.conftest import MESHES

    call = (f"worker(Path({str(ply)!r}), Path({str(blobs)!r}), " if blobs else f"profile_worker(Path({str(ply)!r}), ")
    code = (f"import sys; from pathlib import Path; sys.path.insert(0, {str(root)!r}); "
            f"sys.path.insert(1, {str(ROOT / 'benchmarks')!r}); import big_import; "
            f"big_import.{call}Path({str(MESHES / 'cow.obj')!r}))")
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"worker in {root} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1]) if blobs else run.stdout


def _sum(stages: dict, names, key: str) -> float:
    return sum(stages[n][key] for n in names if n in stages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", help="git revision to run as the old code beside this tree (e.g. a5a7b29)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also one cProfile'd import per tree (CPU seconds)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ply, glb, faces = _make_input(tmp)
        trees = {"new": ROOT}
        if args.base:
            base = tmp / "base"
            base.mkdir()
            archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            (base / "node_modules").symlink_to(ROOT / "node_modules")  # glTF-Validator for both
            trees = {f"old ({args.base})": base, "new": ROOT}
        runs: dict[str, list[dict]] = {"gltfpack": [], **{k: [] for k in trees}}
        for r in range(args.rounds):
            runs["gltfpack"].append(_gltfpack(glb, tmp / "out.glb", faces))
            for label, root in trees.items():
                res = _run_worker(root, ply, tmp / f"blobs-{r}-{len(runs[label])}-{label[:3]}")
                runs[label].append(res)
                core = _sum(res["stages"], CORE, "wall")
                print(f"round {r + 1} {label}: {faces} -> {res['faces']} faces, watertight {res['watertight']}, "
                      f"{res['verdict']}, core {core:.2f} s, gltfpack {runs['gltfpack'][-1]['wall']:.2f} s", flush=True)
        if args.profile:
            for label, root in trees.items():
                print(f"\n--- profile, {label} ---\n{_run_worker(root, ply, None)}", flush=True)
    gp = {k: statistics.median(g[k] for g in runs["gltfpack"]) for k in ("wall", "cpu")}
    print(f"\n{faces:,} triangles -> {TARGET:,}; medians of {args.rounds} rounds; gltfpack wall {gp['wall']:.2f} s, "
          f"CPU {gp['cpu']:.2f} s")
    names = [*CORE, *TAIL]
    print("| code | clock | " + " | ".join(names) + " | core | core / gltfpack | tail / core |")
    print("|---|---|" + "---:|" * (len(names) + 3))
    for label in trees:
        for key in ("wall", "cpu"):
            med = {n: statistics.median(x["stages"].get(n, {}).get(key, 0.0) for x in runs[label]) for n in names}
            core = statistics.median(_sum(x["stages"], CORE, key) for x in runs[label])
            tail = statistics.median(_sum(x["stages"], TAIL, key) / _sum(x["stages"], CORE, key) for x in runs[label])
            ratio = statistics.median(_sum(x["stages"], CORE, key) / g[key] for x, g in zip(runs[label], runs["gltfpack"]))
            print(f"| {label} | {key} | " + " | ".join(f"{med[n]:.2f}" for n in names)
                  + f" | {core:.2f} | {ratio:.2f} | +{tail:.0%} |")


if __name__ == "__main__":
    main()

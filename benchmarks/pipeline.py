"""End-to-end pipeline benchmark: corpus images through a real server with warm workers.

Reports the median time per stage and end to end (client-side wall time of the
whole Generate stream, storage included), and the peak memory (VmHWM) of the
server process and each worker, and a sha256 speed reading of the machine before and after.
Run: .venv/bin/python benchmarks/pipeline.py [--no-previews] [--lods 1] [--quick]

A/B against another commit in the same run (images alternate between the two servers):
    git worktree add /tmp/meshsmith-base REV && ln -s "$PWD/node_modules" /tmp/meshsmith-base/
    .venv/bin/python benchmarks/pipeline.py --baseline /tmp/meshsmith-base
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageOps  # noqa: E402

from meshsmith.v1 import types_pb2 as pb  # noqa: E402
from tests.server.conftest import start_server, stop_server  # noqa: E402

IMAGES = ROOT.parent / "shared" / "corpus" / "images"
STAGES = ["decode", "segment", "reconstruct", "repair", "decimate", "export", "validate", "lods", "preview", "store"]


def square_png(path: Path, size: int) -> bytes:
    """The image padded to a square with its corner colour (transparent for RGBA) and scaled to size x size."""
    if not size:
        return path.read_bytes()
    img = Image.open(path)
    img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    fill = (0, 0, 0, 0) if img.mode == "RGBA" else img.getpixel((0, 0))
    buf = io.BytesIO()
    ImageOps.pad(img, (size, size), color=fill).save(buf, format="PNG")
    return buf.getvalue()


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        out += [int(k) for k in kids]
    return out


def calibrate_mib_s() -> float:
    """sha256 throughput of one core right now (median of 3 over 32 MiB): a speed reading of this VM."""
    data = os.urandom(32 * 2**20)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        hashlib.sha256(data).digest()
        times.append(time.perf_counter() - t)
    return round(32 / statistics.median(times), 1)


def generate_one(client, path: Path, i: int, args, lods: list[float]) -> dict:
    """One image through Generate: client wall time, per-stage gaps between events, faces."""
    events = []
    t0 = time.perf_counter()
    try:
        version = client.generate(
            square_png(path, args.size), f"bench/{path.stem.replace('_', '-')}",
            pb.GenerateParams(mode=pb.ReconstructMode.Value(f"RECONSTRUCT_MODE_{args.mode.upper()}"),
                              target_faces=args.faces, seed=i, lod_ratios=lods),
            on_event=events.append,
        )
    except Exception as err:  # a benchmark records failures, it does not stop
        return {"image": path.name, "error": str(err)}
    wall = (time.perf_counter() - t0) * 1000
    last, stages = 0, {}
    for e in events:
        if e.stage in STAGES or e.stage == "done":
            name = "store" if e.stage == "done" else e.stage
            stages[name] = stages.get(name, 0) + e.elapsed_ms - last  # a stage may send two events
            last = e.elapsed_ms
    return {"image": path.name, "wall_ms": round(wall, 1), "faces": version.stats.faces, "stages_ms": stages}


def summary(rows: list[dict], memory: dict) -> dict:
    ok = [r for r in rows if "wall_ms" in r]
    walls = sorted(r["wall_ms"] for r in ok)
    return {
        "images": len(rows),
        "failed": [r for r in rows if "error" in r],
        "median_stage_ms": {st: statistics.median(v) for st in STAGES
                            if (v := [r["stages_ms"][st] for r in ok if st in r["stages_ms"]])},
        "median_wall_ms": statistics.median(walls) if ok else None,
        "p90_wall_ms": walls[int(0.9 * (len(walls) - 1))] if ok else None,
        "peak_memory": memory,
        "rows": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="6 images instead of all")
    ap.add_argument("--faces", type=int, default=20000)
    ap.add_argument("--mode", default="inflate")
    ap.add_argument("--no-previews", action="store_true")
    ap.add_argument("--lods", default="", help="LOD ratios, e.g. 1 (LOD0 only) or 1,0.5,0.25,0.1 (default: the server's)")
    ap.add_argument("--size", type=int, default=1024, help="pad each image to a square and scale it to SIZE px (0: as is)")
    ap.add_argument("--baseline", type=Path, help="a checkout of another commit (with node_modules linked in): "
                    "its server runs beside this one and the images alternate between them")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "pipeline.json")
    args = ap.parse_args()

    images = sorted(IMAGES.iterdir())[: 6 if args.quick else None]
    lods = [float(r) for r in args.lods.split(",") if r]
    extra = ["--workers", "2"] + (["--no-previews"] if args.no_previews else [])
    servers = {"this": start_server(Path(tempfile.mkdtemp(prefix="meshsmith-bench-")), *extra)}
    if args.baseline:
        base = args.baseline.resolve()
        env = {**os.environ, "PYTHONPATH": f"{base}{os.pathsep}{base / 'clients' / 'python'}"}
        servers["baseline"] = start_server(Path(tempfile.mkdtemp(prefix="meshsmith-base-")), *extra, env=env, cwd=base)
    rows: dict[str, list[dict]] = {name: [] for name in servers}
    memory = {}
    calibration = [calibrate_mib_s()]
    try:
        clients = {name: srv.client() for name, srv in servers.items()}
        warm = (IMAGES / "chair.png").read_bytes()
        for client in clients.values():
            client.generate(warm, "bench/warmup", pb.GenerateParams(target_faces=args.faces))
        for i, path in enumerate(images):
            for name, client in (clients.items() if i % 2 == 0 else reversed(clients.items())):
                rows[name].append(generate_one(client, path, i, args, lods))
        for name, srv in servers.items():
            pid = srv.process.pid
            memory[name] = {"server_mb": round(vm_hwm_mb(pid), 1), "workers_mb": [round(vm_hwm_mb(c), 1) for c in children(pid)]}
    finally:
        for srv in servers.values():
            stop_server(srv)
    calibration.append(calibrate_mib_s())

    runs = {name: summary(rows[name], memory.get(name, {})) for name in servers}
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "settings": {"size_px": args.size, "mode": args.mode, "faces": args.faces, "lods": args.lods or "default",
                     "previews": not args.no_previews, "baseline": str(args.baseline or "")},
        "calibration_sha256_MiB_per_s": {"before": calibration[0], "after": calibration[1]},
        **runs["this"],
    }
    if args.baseline:
        result["baseline"] = runs["baseline"]
        result["speedup"] = round(runs["baseline"]["median_wall_ms"] / runs["this"]["median_wall_ms"], 2)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"{len(images)} images ({args.size or 'original'} px), mode {args.mode}, target {args.faces} faces, "
          f"LODs {args.lods or 'default'}, previews {'off' if args.no_previews else 'on'}, {result['machine']}; "
          f"sha256 {calibration[0]} -> {calibration[1]} MiB/s (machine speed)")
    for name, run in runs.items():
        label = "this checkout" if name == "this" else f"baseline {args.baseline}"
        print(f"[{label}] {len(run['rows']) - len(run['failed'])}/{run['images']} ok")
        print("  median per stage (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in run["median_stage_ms"].items()))
        print(f"  end to end: median {run['median_wall_ms']:.0f} ms, p90 {run['p90_wall_ms']:.0f} ms")
        print(f"  peak RSS: server {run['peak_memory']['server_mb']} MB, workers {run['peak_memory']['workers_mb']} MB")
        for r in run["failed"]:
            print(f"  FAILED {r['image']}: {r['error']}")
    if args.baseline:
        print(f"speedup vs baseline (median end to end): {result['speedup']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

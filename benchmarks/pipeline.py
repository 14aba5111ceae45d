"""End-to-end pipeline benchmark: corpus images through a real server with warm workers.

Reports the median time per stage and end to end (client-side wall time of the
whole Generate stream, storage included), and the peak memory (VmHWM) of the
server process and each worker. Run: .venv/bin/python benchmarks/pipeline.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="6 images instead of all")
    ap.add_argument("--faces", type=int, default=20000)
    ap.add_argument("--mode", default="inflate")
    ap.add_argument("--no-previews", action="store_true")
    ap.add_argument("--lods", default="", help="LOD ratios, e.g. 1 (LOD0 only) or 1,0.5,0.25,0.1 (default: the server's)")
    ap.add_argument("--size", type=int, default=1024, help="pad each image to a square and scale it to SIZE px (0: as is)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "pipeline.json")
    args = ap.parse_args()

    images = sorted(IMAGES.iterdir())
    lods = [float(r) for r in args.lods.split(",") if r]
    if args.quick:
        images = images[:6]
    extra = ["--workers", "2"] + (["--no-previews"] if args.no_previews else [])
    server = start_server(Path(tempfile.mkdtemp(prefix="meshsmith-bench-")), *extra)
    per_stage: dict[str, list[float]] = defaultdict(list)
    rows = []
    try:
        with server.client() as client:
            warm = (IMAGES / "chair.png").read_bytes()
            client.generate(warm, "bench/warmup", pb.GenerateParams(target_faces=args.faces))
            for i, path in enumerate(images):
                events = []
                t0 = time.perf_counter()
                try:
                    version = client.generate(
                        square_png(path, args.size), f"bench/{path.stem.replace('_', '-')}",
                        pb.GenerateParams(mode=pb.ReconstructMode.Value(f"RECONSTRUCT_MODE_{args.mode.upper()}"), target_faces=args.faces, seed=i,
                                       lod_ratios=lods),
                        on_event=events.append,
                    )
                except Exception as err:  # a benchmark records failures, it does not stop
                    rows.append({"image": path.name, "error": str(err)})
                    continue
                wall = (time.perf_counter() - t0) * 1000
                last = 0
                stages = {}
                for e in events:
                    if e.stage in STAGES or e.stage == "done":
                        name = "store" if e.stage == "done" else e.stage
                        stages[name] = stages.get(name, 0) + e.elapsed_ms - last  # a stage may send two events
                        last = e.elapsed_ms
                for name, ms in stages.items():
                    per_stage[name].append(ms)
                rows.append({"image": path.name, "wall_ms": round(wall, 1), "faces": version.stats.faces, "stages_ms": stages})
        pid = server.process.pid
        memory = {"server_mb": round(vm_hwm_mb(pid), 1), "workers_mb": [round(vm_hwm_mb(c), 1) for c in children(pid)]}
    finally:
        stop_server(server)

    ok = [r for r in rows if "wall_ms" in r]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "images": len(rows),
        "settings": {"size_px": args.size, "mode": args.mode, "faces": args.faces, "lods": args.lods or "default",
                     "previews": not args.no_previews},
        "failed": [r for r in rows if "error" in r],
        "median_stage_ms": {s: statistics.median(per_stage[s]) for s in STAGES if per_stage[s]},
        "median_wall_ms": statistics.median(r["wall_ms"] for r in ok) if ok else None,
        "p90_wall_ms": sorted(r["wall_ms"] for r in ok)[int(0.9 * (len(ok) - 1))] if ok else None,
        "peak_memory": memory,
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"{len(ok)}/{len(rows)} images ok ({args.size or 'original'} px), mode {args.mode}, target {args.faces} faces, "
          f"LODs {args.lods or 'default'}, previews {'off' if args.no_previews else 'on'}, {result['machine']}")
    print("median per stage (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in result["median_stage_ms"].items()))
    print(f"end to end: median {result['median_wall_ms']:.0f} ms, p90 {result['p90_wall_ms']:.0f} ms")
    print(f"peak RSS: server {memory['server_mb']} MB, workers {memory['workers_mb']} MB")
    for r in result["failed"]:
        print(f"FAILED {r['image']}: {r['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `remote` backend's overhead against the local Tripo STAND-IN (tests/server/tripo_standin.py), not Tripo:
where a generate's time goes (waiting on the vendor vs meshsmith's own tail), beside importing the same GLB.

    .venv/bin/python benchmarks/remote.py [--repeat 3] [--poll 0.1] [--json OUT]

The stand-in answers queued, running x2, success (4 polls; with --poll P the client sleeps P, 2P, 4P) and
serves the corpus Spot (5,856 triangles, 1024² texture) as the model. Real Tripo tasks take tens of seconds
to minutes, so with the real API the wait dominates far more than here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMAGE = ROOT.parent / "shared" / "corpus" / "images" / "chair.png"
KEY = "tsk_benchmark_standin"
TAIL = ("decimate", "repair", "export", "validate", "lods")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--poll", type=float, default=0.1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from reconstruct.image import decode_image
    from reconstruct.learned.base import LearnedConfig, RemoteConfig
    from reconstruct.learned.remote import shape_from_remote
    from reconstruct.segment import segment
    from reconstruct.modes import ReconstructParams
    from server.pipeline import GenerateJob, ImportJob, generate, import_mesh
    from tests.server.tripo_standin import RUNNING_POLLS, TripoStandIn, spot_glb
    from validation.decimate import DecimateParams

    glb = spot_glb()
    standin = TripoStandIn(key=KEY, glb=glb).start()
    remote = RemoteConfig(key=KEY, key_source="benchmark", base_url=standin.url, timeout_s=120, poll_s=args.poll)
    job = GenerateJob(image=IMAGE.read_bytes(), reconstruct=ReconstructParams(texture_size=1024),
                      decimate=DecimateParams(target_faces=3000), lod_ratios=(1.0, 0.5), previews=False,
                      backend="remote", learned=LearnedConfig(remote=remote))
    imp = ImportJob(mesh=glb, filename="spot.glb", decimate=DecimateParams(target_faces=3000), lod_ratios=(1.0, 0.5),
                    previews=False)
    rows = []
    try:
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = generate(job, lambda *e: None)
            total = time.perf_counter() - t
            seg = segment(decode_image(job.image, job.limits), job.segment)
            made = shape_from_remote(decode_image(job.image, job.limits), seg, remote, job.reconstruct)
            t = time.perf_counter()
            base = import_mesh(imp, lambda *e: None)
            imported = time.perf_counter() - t
            rows.append({"generate_s": total, "vendor_and_load_s": out.timings_ms["reconstruct"] / 1000,
                         "tail_s": sum(out.timings_ms.get(k, 0) for k in TAIL) / 1000,
                         "decode_segment_s": (out.timings_ms["decode"] + out.timings_ms["segment"]) / 1000,
                         "vendor_wait_s": made.wait_ms / 1000, "glb_load_s": made.load_ms / 1000,
                         "import_same_glb_s": imported,
                         "import_tail_s": sum(base.timings_ms.get(k, 0) for k in TAIL) / 1000})
    finally:
        standin.stop()
    sleeps = sum(args.poll * 2**i for i in range(RUNNING_POLLS))  # after the queued and each running answer
    med = {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]}
    print(f"stand-in, poll {args.poll} s ({RUNNING_POLLS + 1} polls, {sleeps:.2f} s of client sleeps), "
          f"median of {args.repeat}:")
    for k, v in med.items():
        print(f"  {k:20} {v:8.3f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"poll_s": args.poll, "sleeps_s": sleeps, "runs": rows, "median": med},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

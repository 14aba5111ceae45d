"""A classical generate's latency while learned jobs run: `serve --gpu-workers 1` against `--gpu-workers 0` (the
learned jobs share the classical pool: the no-pool baseline), both with `--workers 1`, in the same run.

    .venv/bin/python benchmarks/gpu_pool.py [--learned 2] [--rounds 3] [--json OUT]

Each round: `--learned` tiny Shap-E jobs (the tests' random-weight model, one torch thread) are submitted, then
one classical generate once the first learned job runs in a worker; the classical job's submit-to-done time is
measured, with the learned jobs' makespan. Separate pools pass when the classical latency stays near its idle
latency (measured first, on the same server); the shared pool makes it wait for the learned jobs ahead of it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meshsmith.v1 import types_pb2 as pb  # noqa: E402
from tests.conftest import IMAGES  # noqa: E402
from tests.learned_models import tiny_shap_e_model  # noqa: E402
from tests.server.conftest import start_server, stop_server  # noqa: E402

IMAGE = (IMAGES / "chair.png").read_bytes()
CLASSICAL = dict(target_faces=1000, texture_size=128, lod_ratios=[1.0])
LEARNED = dict(backend="shap-e", target_faces=200_000, texture_size=128, lod_ratios=[1.0])


def _round(server, n: int, r: int) -> tuple[float, float]:
    """(classical submit-to-done s, learned makespan s) with `n` learned jobs submitted first."""
    running = threading.Event()
    t0 = time.perf_counter()

    def learned(i: int) -> None:
        with server.client() as c:
            c.generate(IMAGE, f"bench/learned-{r}-{i}", pb.GenerateParams(seed=100 * r + i, **LEARNED),
                       on_event=lambda e: e.stage == "decode" and running.set())

    threads = [threading.Thread(target=learned, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    running.wait(300)
    with server.client() as c:
        t = time.perf_counter()
        c.generate(IMAGE, f"bench/classical-{r}", pb.GenerateParams(seed=r + 1, **CLASSICAL))
        classical = time.perf_counter() - t
    for t in threads:
        t.join()
    return classical, time.perf_counter() - t0


def measure(gpu_workers: int, model: Path, args) -> dict:
    s = start_server(Path(tempfile.mkdtemp(prefix="meshsmith-gpupool-")), "--workers", "1", "--gpu-workers",
                     str(gpu_workers), "--no-previews", "--model", f"shap-e={model}", "--device", "cpu",
                     "--torch-threads", "1")
    try:
        with s.client() as c:  # warm both pools (torch imported in the worker that runs learned jobs)
            c.generate(IMAGE, "bench/warm-learned", pb.GenerateParams(seed=1, **LEARNED))
            idle = []
            for i in range(3):
                t = time.perf_counter()
                c.generate(IMAGE, f"bench/idle-{i}", pb.GenerateParams(seed=1000 + i, **CLASSICAL))
                idle.append(time.perf_counter() - t)
        rounds = [_round(s, args.learned, r) for r in range(args.rounds)]
    finally:
        stop_server(s)
    return {"gpu_workers": gpu_workers, "classical_idle_s": statistics.median(idle),
            "classical_busy_s": statistics.median(x[0] for x in rounds),
            "learned_makespan_s": statistics.median(x[1] for x in rounds)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learned", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = tiny_shap_e_model(Path(tmp) / "tiny-shap-e")
        rows = [measure(n, model, args) for n in (1, 0)]
    print(f"{'gpu workers':>11}  {'classical idle':>14}  {'classical beside learned':>24}  {'learned makespan':>16}")
    for r in rows:
        print(f"{r['gpu_workers']:>11}  {r['classical_idle_s']:>13.2f}s  {r['classical_busy_s']:>23.2f}s  "
              f"{r['learned_makespan_s']:>15.2f}s")
    print(f"classical latency beside {args.learned} learned jobs, shared pool / own pools: "
          f"{rows[1]['classical_busy_s'] / rows[0]['classical_busy_s']:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

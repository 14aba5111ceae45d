"""Load run against a real server on loopback: concurrent Generate streams plus concurrent pulls.

Bounded in time and count; reports throughput, p50/p99 latency per operation and the peak RSS of the
server and its workers. Run: .venv/bin/python benchmarks/load.py [--seconds 120] [--generators 20] [--pullers 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc  # noqa: E402
from meshsmith.v1 import types_pb2 as pb  # noqa: E402
from tests.server.conftest import start_server, stop_server  # noqa: E402

IMAGES = ROOT.parent / "shared" / "corpus" / "images"


def rss_mb(pid: int) -> float:
    total = 0.0
    kids = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    for p in [pid, *kids]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--generators", type=int, default=20)
    ap.add_argument("--pullers", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "load.json")
    args = ap.parse_args()

    server = start_server(Path(tempfile.mkdtemp(prefix="meshsmith-load-")), "--workers", str(args.workers),
                          "--no-previews", "--max-jobs-per-caller", str(args.generators + 8))
    images = [p.read_bytes() for p in sorted(IMAGES.glob("*.png"))[:8]]
    channel = grpc.insecure_channel(server.address, options=[("grpc.max_receive_message_length", 64 << 20)])
    ingest, assets = ingest_pb2_grpc.IngestServiceStub(channel), assets_pb2_grpc.AssetServiceStub(channel)
    list(ingest.Generate(ingest_pb2.GenerateRequest(asset="load/seed", image=images[0], params=pb.GenerateParams(target_faces=20000))))

    stop = time.monotonic() + args.seconds
    lat: dict[str, list[float]] = {"generate": [], "pull": []}
    errors: dict[str, int] = {}
    pulled_bytes = [0]
    peak = [rss_mb(server.process.pid)]
    lock = threading.Lock()

    def generator(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            req = ingest_pb2.GenerateRequest(asset=f"load/g{i}", image=images[(i + n) % len(images)],
                                             params=pb.GenerateParams(target_faces=10000, seed=n))
            t = time.perf_counter()
            try:
                list(ingest.Generate(req, timeout=max(1.0, stop - time.monotonic() + 60)))
                with lock:
                    lat["generate"].append(time.perf_counter() - t)
            except grpc.RpcError as err:
                with lock:
                    errors[f"generate {err.code().name}"] = errors.get(f"generate {err.code().name}", 0) + 1
                if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    time.sleep(1)
            n += 1

    def puller() -> None:
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                size = sum(len(p.chunk) for p in assets.PullArtifact(assets_pb2.PullArtifactRequest(asset="load/seed"), timeout=60))
                with lock:
                    lat["pull"].append(time.perf_counter() - t)
                    pulled_bytes[0] += size
            except grpc.RpcError as err:
                with lock:
                    errors[f"pull {err.code().name}"] = errors.get(f"pull {err.code().name}", 0) + 1

    def sampler() -> None:
        while time.monotonic() < stop:
            peak[0] = max(peak[0], rss_mb(server.process.pid))
            time.sleep(0.5)

    threads = [threading.Thread(target=generator, args=(i,)) for i in range(args.generators)]
    threads += [threading.Thread(target=puller) for _ in range(args.pullers)] + [threading.Thread(target=sampler)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    channel.close()
    stop_server(server)

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": round(wall, 1), "generators": args.generators, "pullers": args.pullers, "workers": args.workers,
        "generate": {"count": len(lat["generate"]), "per_min": round(len(lat["generate"]) / wall * 60, 1),
                     "p50_s": round(pct(lat["generate"], 0.5), 2), "p99_s": round(pct(lat["generate"], 0.99), 2)},
        "pull": {"count": len(lat["pull"]), "per_s": round(len(lat["pull"]) / wall, 1),
                 "MiB_per_s": round(pulled_bytes[0] / wall / 2**20, 1),
                 "p50_ms": round(pct(lat["pull"], 0.5) * 1000, 1), "p99_ms": round(pct(lat["pull"], 0.99) * 1000, 1)},
        "errors": errors, "peak_rss_mb": round(peak[0], 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pull throughput of a 50 MB GLB from a real server on loopback: gRPC (Python client) and HTTP, same run.

Measured interleaved, so all see the same machine:
  grpc_transfer  the PullArtifact stream read to the end (bytes received, nothing else);
  grpc_verified  `Client.pull`: the same plus assembling the bytes and checking size and sha256;
  http_transfer  GET /assets/NAME@latest (urllib, following the redirect to the blob);
  sha256         hashlib.sha256 over the payload alone: the ceiling for any verified pull on this CPU.
Run: .venv/bin/python benchmarks/pull.py [--mb 50] [--repeats 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meshsmith.v1 import assets_pb2  # noqa: E402
from registry import NewArtifact, NewVersion, Registry  # noqa: E402
from server.settings import load_settings  # noqa: E402
from tests.server.conftest import start_server, stop_server  # noqa: E402

STATS = {"faces": 1, "vertices": 3, "watertight": False, "two_manifold": True, "winding_consistent": True,
         "volume_m3": 0.0, "bodies": 1, "bbox_min": (0, 0, 0), "bbox_max": (1, 1, 0), "area_m2": 0.5, "texture_size": 0}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="meshsmith-pull-"))
    payload = os.urandom(args.mb * 10**6)  # incompressible, like a GLB full of vertex data
    s = load_settings({"data_dir": data_dir})
    reg = Registry(s.db_url, s.blob_dir)
    reg.migrate()
    reg.create_version(NewVersion(asset="bench/big", author="bench", source_sha256=hashlib.sha256(b"src").hexdigest(),
                                  parameters={}, backend="bench", backend_version="0", seed=0, mode="import",
                                  artifacts=(NewArtifact("source", 0, b"src", "application/octet-stream"),
                                             NewArtifact("glb", 0, payload, "model/gltf-binary")),
                                  stats=STATS, reports=(), repair={}))
    reg.close()

    server = start_server(data_dir, "--workers", "1", "--no-previews")
    times: dict[str, list[float]] = {"grpc_transfer": [], "grpc_verified": [], "http_transfer": [], "sha256": []}
    request = assets_pb2.PullArtifactRequest(asset="bench/big", ref="latest", kind="glb")
    try:
        with server.client() as client:
            client.pull("bench/big")  # warm
            for _ in range(args.repeats):
                t = time.perf_counter()
                got = sum(len(part.chunk) for part in client.assets.PullArtifact(request))
                times["grpc_transfer"].append(time.perf_counter() - t)
                assert got == len(payload)
                t = time.perf_counter()
                pulled = client.pull("bench/big")
                times["grpc_verified"].append(time.perf_counter() - t)
                assert len(pulled.data) == len(payload)
                t = time.perf_counter()
                with urllib.request.urlopen(f"http://{server.http}/assets/bench/big@latest", timeout=60) as r:
                    body = r.read()
                times["http_transfer"].append(time.perf_counter() - t)
                assert len(body) == len(payload)
                t = time.perf_counter()
                hashlib.sha256(payload).digest()
                times["sha256"].append(time.perf_counter() - t)
    finally:
        stop_server(server)
    mib = len(payload) / 2**20
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "size_MiB": round(mib, 1),
        **{f"{name}_MiB_per_s": round(mib / statistics.median(ts), 1) for name, ts in times.items()},
    }
    result["grpc_transfer_over_http"] = round(result["grpc_transfer_MiB_per_s"] / result["http_transfer_MiB_per_s"], 2)
    out = ROOT / "benchmarks" / "out" / "pull.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pull throughput of a 50 MB GLB from a real server on loopback: gRPC (Python client) and HTTP, same run.

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
    grpc_s, http_s = [], []
    try:
        with server.client() as client:
            client.pull("bench/big")  # warm
            for _ in range(args.repeats):  # interleaved, so both see the same machine
                t = time.perf_counter()
                pulled = client.pull("bench/big")  # includes the client's sha256 check
                grpc_s.append(time.perf_counter() - t)
                assert len(pulled.data) == len(payload)
                t = time.perf_counter()
                with urllib.request.urlopen(f"http://{server.http}/assets/bench/big@latest", timeout=60) as r:
                    body = r.read()
                http_s.append(time.perf_counter() - t)
                assert len(body) == len(payload)
    finally:
        stop_server(server)
    mib = len(payload) / 2**20
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "size_MiB": round(mib, 1),
        "grpc_MiB_per_s": round(mib / statistics.median(grpc_s), 1),
        "http_MiB_per_s": round(mib / statistics.median(http_s), 1),
    }
    result["grpc_over_http"] = round(result["grpc_MiB_per_s"] / result["http_MiB_per_s"], 2)
    out = ROOT / "benchmarks" / "out" / "pull.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

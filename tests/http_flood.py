"""Hostile unauthenticated HTTP traffic against a running server, and what it costs everyone else (issue 18).

Shared by tests/server/test_http_flood.py and benchmarks/http_flood.py. Every attacker speaks raw HTTP/1.1 from
its own loopback source address (127.0.0.x; the probes use 127.0.0.1), so the per-peer cap is what an attacker
meets and the probes meet only the total cap. The kinds, as the attack run of issue 18 sent them:
  gzip_json    Connect JSON (SearchAssets), gzip: 16 MB of tags in ~16 KB on the wire
  grpc_web     the same JSON in a gRPC-Web frame (application/grpc-web+json), gzip
  bomb         1 MiB of gzip that inflates to 1 GiB (Connect unary)
  slow_body    headers, then one byte of body every 0.5 s
  connections  many sockets opened at once from one address, each sending half a request line
Probes, on 127.0.0.1 while the attack runs: gRPC health Check, an authenticated gRPC PullArtifact and an
authenticated HTTP GET of a blob on a new connection and on a kept-alive one, one after another; seconds.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshsmith.v1 import assets_pb2, assets_pb2_grpc

SEARCH = "/meshsmith.v1.AssetService/SearchAssets"
KINDS = ("gzip_json", "grpc_web", "bomb", "slow_body", "connections")


def _tags_json(mb: int = 16) -> bytes:
    return json.dumps({"prefix": "", "tags": ["t" * 60] * (mb * 2**20 // 65)}).encode()


def _bomb(inflated: int = 2**30) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(2**20)
    return b"".join(z.compress(block) for _ in range(inflated // len(block))) + z.flush()


@dataclass
class Payloads:
    """The bodies, built once (the bomb takes ~2 s to compress)."""

    gzip_json: bytes = field(default_factory=lambda: gzip.compress(_tags_json(), 9))
    grpc_web: bytes = field(default_factory=lambda: gzip.compress(struct.pack(">BI", 0, len(j := _tags_json())) + j, 9))
    bomb: bytes = field(default_factory=_bomb)


def _request(path: str, content_type: str, body_len: int, encoding: str | None = "gzip") -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: meshsmith", f"Content-Type: {content_type}", f"Content-Length: {body_len}"]
    if encoding:
        head.append(f"Content-Encoding: {encoding}")
    return ("\r\n".join(head) + "\r\n\r\n").encode()


async def _status_line(reader: asyncio.StreamReader, timeout: float) -> str:
    """"HTTP/1.1 401 Unauthorized", or for gRPC-Web "HTTP/1.1 200/grpc-16" (its status is a header); "" on none."""
    try:
        status = (await asyncio.wait_for(reader.readline(), timeout)).decode("latin-1").strip()
        if status.startswith("HTTP/1.1 200"):
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)).decode("latin-1").lower()
            grpc_status = [h.split(":", 1)[1].strip() for h in head.split("\r\n") if h.startswith("grpc-status:")]
            status = status.replace(" 200", f" 200/grpc-{grpc_status[0] if grpc_status else 'none'}", 1)
        return status
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        return ""


async def _one(kind: str, host: str, port: int, source: str, payloads: Payloads, until: float, tally: dict) -> None:
    """One attacker connection of `kind`; counts the first status line it gets (or 'none')."""
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    except OSError:
        tally["refused"] = tally.get("refused", 0) + 1
        return
    try:
        if kind == "connections":
            writer.write(b"POST /meshsmith.v1.Asset")
            await writer.drain()
            status = await _status_line(reader, max(0.1, until - time.monotonic()))
        elif kind == "slow_body":
            writer.write(_request(SEARCH, "application/json", 10**6, None))
            status = ""
            while time.monotonic() < until and not status:
                writer.write(b"{")
                await writer.drain()
                status = await _status_line(reader, 0.5)
        else:
            body = getattr(payloads, kind)
            ctype = "application/grpc-web+json" if kind == "grpc_web" else "application/json"
            path = "/meshsmith.v1.AssetService/SearchAssets"
            writer.write(_request(path, ctype, len(body)) + body)
            await writer.drain()
            status = await _status_line(reader, max(0.1, until - time.monotonic()))
    except ConnectionError:
        status = "reset"
    finally:
        writer.close()
    # "ended": still waiting when the attack's time ran out; "none": the server closed without answering
    code = status.split(" ")[1] if status.count(" ") >= 1 else (status or ("ended" if time.monotonic() >= until else "none"))
    tally[code] = tally.get(code, 0) + 1


async def attack(host: str, port: int, concurrency: int, seconds: float, payloads: Payloads,
                 kinds=KINDS, connections: int = 1000) -> dict[str, dict]:
    """`concurrency` attackers per kind, each reconnecting until `seconds` pass ('connections': `connections`
    sockets at once from one address); {kind: {status code: count}}."""
    until = time.monotonic() + seconds
    tallies: dict[str, dict] = {k: {} for k in kinds}

    async def loop(kind: str, source: str) -> None:
        while time.monotonic() < until:
            await _one(kind, host, port, source, payloads, until, tallies[kind])

    tasks = []
    for k, kind in enumerate(kinds):
        if kind == "connections":
            tasks += [_one(kind, host, port, "127.0.0.200", payloads, until, tallies[kind]) for _ in range(connections)]
        else:  # each attacker its own address: only the total cap stands between them and the probes
            tasks += [loop(kind, f"127.0.{10 + k}.{1 + i}") for i in range(concurrency)]
    await asyncio.gather(*tasks)
    return tallies


def attack_in_process(address: str, concurrency: int, seconds: float, connections: int = 1000,
                      kinds=KINDS) -> dict[str, dict]:
    """`attack` in a process of its own, so the attackers' Python does not slow the probes' (one GIL each)."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "tests.http_flood", address, str(concurrency), str(seconds), str(connections), *kinds],
        cwd=root, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Probes:
    """Health, gRPC pull and HTTP pull from 127.0.0.1 in a thread, one after another, until stopped; and the
    server's RSS every 50 ms."""

    def __init__(self, grpc_address: str, http_address: str, key: str, asset: str, blob_sha: str, pid: int):
        self.grpc_address, self.http_address, self.key = grpc_address, http_address, key
        self.asset, self.blob_sha, self.pid = asset, blob_sha, pid
        self.latency: dict[str, list[float]] = {"health": [], "grpc_pull": [], "http_pull": [], "http_keepalive": []}
        self.failures: list[str] = []
        self.rss: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe, daemon=True),
                         threading.Thread(target=self._sample, daemon=True)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.rss.append(rss_mb(self.pid))

    def _timed(self, name: str, fn) -> None:
        t = time.perf_counter()
        try:
            fn()
        except Exception as e:  # a failed probe is a finding, not a crash of the prober
            self.failures.append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
        self.latency[name].append(time.perf_counter() - t)

    def _probe(self) -> None:
        import http.client

        meta = (("authorization", f"Bearer {self.key}"),)
        host, port = self.http_address.rsplit(":", 1)
        with grpc.insecure_channel(self.grpc_address) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            assets = assets_pb2_grpc.AssetServiceStub(ch)

            def check():
                assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == 1

            def pull():
                data = b"".join(c.chunk for c in assets.PullArtifact(
                    assets_pb2.PullArtifactRequest(asset=self.asset, ref="latest"), metadata=meta, timeout=10))
                assert data

            def http_get(conn):
                conn.request("GET", f"/blobs/{self.blob_sha}", headers={"Authorization": f"Bearer {self.key}"})
                resp = conn.getresponse()
                body = resp.read()
                assert resp.status == 200 and body, resp.status

            def http_pull():  # a new connection: it waits in the accept queue with the attackers'
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                try:
                    http_get(conn)
                finally:
                    conn.close()

            kept = http.client.HTTPConnection(host, int(port), timeout=10)  # reconnects by itself when closed
            while not self._stop.is_set():
                self._timed("health", check)
                self._timed("grpc_pull", pull)
                self._timed("http_pull", http_pull)
                self._timed("http_keepalive", lambda: http_get(kept))
                time.sleep(0.01)
            kept.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


if __name__ == "__main__":  # python -m tests.http_flood HOST:PORT CONCURRENCY SECONDS CONNECTIONS KIND...
    host, _, port = sys.argv[1].rpartition(":")
    print(json.dumps(asyncio.run(attack(host, int(port), int(sys.argv[2]), float(sys.argv[3]), Payloads(),
                                        tuple(sys.argv[5:]), int(sys.argv[4])))))

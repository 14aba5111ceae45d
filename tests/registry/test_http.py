"""The read-only HTTP endpoint on a real port, spoken to by a real HTTP client."""

import asyncio
import contextlib
import hashlib
import http.client
import socket
import threading
import time

import pytest
from aiohttp import web

from registry import NewArtifact
from server.http import HttpLimits, start_http
from tests.conftest import free_port
from tests.registry.factory import new_version

GLB = bytes(range(256)) * 400  # 100 KiB


@contextlib.contextmanager
def serving(reg, extra_routes=(), **options):
    """start_http on a free loopback port, in its own event loop thread; yields the port."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state = {}

    async def start():
        state["runner"] = await start_http(reg, "127.0.0.1", port, extra_routes=extra_routes, **options)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


async def _metrics(request):
    return web.Response(text="up 1\n")


async def _boom(request):
    raise RuntimeError("a bug in a handler")


@pytest.fixture
def server(reg):
    reg.create_version(new_version(glb=GLB, extra_artifacts=[NewArtifact("glb", 1, b"glTF-lod1", "model/gltf-binary")]))
    with serving(reg, [web.get("/metrics", _metrics), web.get("/boom", _boom)]) as port:
        yield port


def get(port, path, method="GET", **headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_blob_get_head_etag_and_cache(server):
    s = sha(GLB)
    resp, body = get(server, f"/blobs/{s}")
    assert resp.status == 200 and body == GLB
    assert resp.getheader("ETag") == f'"{s}"'
    assert resp.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert resp.getheader("Content-Type") == "model/gltf-binary"
    assert resp.getheader("Accept-Ranges") == "bytes" and int(resp.getheader("Content-Length")) == len(GLB)
    head, body = get(server, f"/blobs/{s}", "HEAD")
    assert head.status == 200 and body == b"" and int(head.getheader("Content-Length")) == len(GLB)
    assert head.getheader("ETag") == f'"{s}"'
    resp, body = get(server, f"/blobs/{s}", **{"If-None-Match": f'"{s}"'})
    assert resp.status == 304 and body == b"" and resp.getheader("ETag") == f'"{s}"'
    resp, _ = get(server, f"/blobs/{s}", **{"If-None-Match": '"other", W/"' + s + '"'})
    assert resp.status == 304
    resp, body = get(server, f"/blobs/{s}", **{"If-None-Match": '"other"'})
    assert resp.status == 200 and body == GLB
    resp, _ = get(server, f"/blobs/{s}", **{"If-Match": '"other"'})
    assert resp.status == 412
    resp, body = get(server, f"/blobs/{s}", **{"If-Match": f'"{s}"'})
    assert resp.status == 200 and body == GLB


def test_blob_ranges(server):
    s = sha(GLB)
    resp, body = get(server, f"/blobs/{s}", Range="bytes=10-19")
    assert resp.status == 206 and body == GLB[10:20]
    assert resp.getheader("Content-Range") == f"bytes 10-19/{len(GLB)}" and resp.getheader("ETag") == f'"{s}"'
    resp, body = get(server, f"/blobs/{s}", Range="bytes=-5")
    assert resp.status == 206 and body == GLB[-5:]
    resp, body = get(server, f"/blobs/{s}", Range=f"bytes={len(GLB) - 3}-")
    assert resp.status == 206 and body == GLB[-3:]
    resp, _ = get(server, f"/blobs/{s}", Range=f"bytes={len(GLB)}-")
    assert resp.status == 416 and resp.getheader("Content-Range") == f"bytes */{len(GLB)}"
    assert "immutable" not in (resp.getheader("Cache-Control") or "")
    resp, body = get(server, f"/blobs/{s}", Range="bytes=0-3", **{"If-Range": f'"{s}"'})
    assert resp.status == 206 and body == GLB[:4]
    resp, body = get(server, f"/blobs/{s}", Range="bytes=0-3", **{"If-Range": '"stale"'})
    assert resp.status == 200 and body == GLB


def test_unreferenced_blob_is_octet_stream(server, reg):
    sha_ = reg.blobs.put(b"loose bytes")
    resp, body = get(server, f"/blobs/{sha_}")
    assert resp.status == 200 and body == b"loose bytes"
    assert resp.getheader("Content-Type") == "application/octet-stream"


def test_blob_errors(server):
    resp, body = get(server, f"/blobs/{'0' * 64}")
    assert resp.status == 404 and b"not in the store" in body
    resp, _ = get(server, "/blobs/not-a-hash")
    assert resp.status == 400
    assert resp.getheader("Access-Control-Allow-Origin") == "*"


def test_cors(server):
    s = sha(GLB)
    resp, _ = get(server, f"/blobs/{s}", Origin="https://viewer.example")
    assert resp.getheader("Access-Control-Allow-Origin") == "*"
    exposed = {h.strip().lower() for h in resp.getheader("Access-Control-Expose-Headers").split(",")}
    assert {"etag", "content-length", "content-range", "accept-ranges"} <= exposed
    resp, _ = get(
        server, f"/blobs/{s}", "OPTIONS",
        Origin="https://viewer.example", **{"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"},
    )
    assert resp.status == 204 and resp.getheader("Access-Control-Allow-Origin") == "*"
    assert "GET" in resp.getheader("Access-Control-Allow-Methods")
    assert "range" in resp.getheader("Access-Control-Allow-Headers").lower()
    resp, _ = get(server, "/assets/props/chair@latest", "OPTIONS", Origin="https://viewer.example")
    assert resp.status == 204


def test_asset_redirects(server, reg):
    reg.create_version(new_version(i=2))
    reg.move_channel("props/chair", "stable", 1, "lead")
    resp, _ = get(server, "/assets/props/chair@stable")
    assert resp.status == 302 and resp.getheader("Location") == f"/blobs/{sha(GLB)}"
    assert "max-age=31536000" not in resp.getheader("Cache-Control")
    assert resp.getheader("Access-Control-Allow-Origin") == "*" and resp.getheader("X-Asset-Version") == "1"
    follow, body = get(server, resp.getheader("Location"))
    assert follow.status == 200 and body == GLB
    latest = reg.resolve("props/chair")
    resp, _ = get(server, "/assets/props/chair@latest", "HEAD")
    assert resp.status == 302 and resp.getheader("Location") == f"/blobs/{latest.artifact().sha256}"
    resp, _ = get(server, "/assets/props/chair")
    assert resp.getheader("Location") == f"/blobs/{latest.artifact().sha256}"
    resp, _ = get(server, "/assets/props/chair@1?lod=1")
    assert resp.getheader("Location") == f"/blobs/{sha(b'glTF-lod1')}"
    resp, _ = get(server, "/assets/props/chair@1?kind=source")
    assert resp.getheader("Location") == f"/blobs/{reg.resolve('props/chair', 1).source_sha256}"
    resp, body = get(server, "/assets/props/chair@1?lod=5")
    assert resp.status == 404 and b"no glb lod 5" in body
    resp, _ = get(server, "/assets/props/nothing@1")
    assert resp.status == 404
    reg.deprecate("props/chair", 1, "qa", "bad")
    resp, body = get(server, "/assets/props/chair@stable")
    assert resp.status == 409 and b"deprecated" in body


def test_extra_routes_hook(server):
    resp, body = get(server, "/metrics")
    assert resp.status == 200 and body == b"up 1\n"


def test_range_edge_cases_follow_rfc9110(server):
    s, n = sha(GLB), len(GLB)
    for spec in ("bytes=-0", "bytes=-00", "BYTES=-0"):  # a zero-length suffix selects nothing
        resp, body = get(server, f"/blobs/{s}", Range=spec)
        assert resp.status == 416 and body == b"" and resp.getheader("Content-Range") == f"bytes */{n}", spec
        assert resp.getheader("Access-Control-Allow-Origin") == "*"
    resp, body = get(server, f"/blobs/{s}", Range="bytes=0-0")
    assert resp.status == 206 and body == GLB[:1] and resp.getheader("Content-Range") == f"bytes 0-0/{n}"
    resp, body = get(server, f"/blobs/{s}", Range=f"bytes=-{n * 10}")  # suffix beyond the file: all of it
    assert resp.status == 206 and body == GLB and resp.getheader("Content-Range") == f"bytes 0-{n - 1}/{n}"
    resp, body = get(server, f"/blobs/{s}", Range=f"bytes={n - 1}-{n * 10}")
    assert resp.status == 206 and body == GLB[-1:]
    for spec in ("bytes=0-1,5-6", "bytes=-1, 0-0", "items=0-1", "pages"):  # several ranges / other unit: ignored
        resp, body = get(server, f"/blobs/{s}", Range=spec)
        assert resp.status == 200 and body == GLB and resp.getheader("Content-Range") is None, spec
    for spec in ("bytes=5-2", "bytes=abc", "bytes=-", "bytes=", "bytes=1-2-3", "bytes=²-", f"bytes={n}-"):
        resp, body = get(server, f"/blobs/{s}", Range=spec)  # malformed or beyond the end: rejected
        assert resp.status == 416 and resp.getheader("Content-Range") == f"bytes */{n}", spec
        assert "immutable" not in (resp.getheader("Cache-Control") or "")


def test_every_error_carries_cors_even_a_crash(server):
    resp, body = get(server, "/boom")
    assert resp.status == 500 and body == b"internal error; see the server log\n"
    assert resp.getheader("Access-Control-Allow-Origin") == "*" and resp.getheader("Cache-Control") == "no-store"
    resp, _ = get(server, "/assets/props/chair@%C2%B2")  # an odd ref: whatever its status, CORS is on it
    assert resp.getheader("Access-Control-Allow-Origin") == "*"
    for path in ("/nothing-here", "/blobs/" + "0" * 64, "/blobs/zz"):
        resp, _ = get(server, path)
        assert resp.status in (400, 404) and resp.getheader("Access-Control-Allow-Origin") == "*", path
    resp, _ = get(server, f"/blobs/{sha(GLB)}", "POST")
    assert resp.status == 405 and resp.getheader("Access-Control-Allow-Origin") == "*"
    resp, body = get(server, f"/blobs/{sha(GLB)}")  # still serving
    assert resp.status == 200 and body == GLB


def _closed_by_peer(sock: socket.socket, deadline: float) -> bool:
    """Wait until the server closes `sock` (EOF or reset), at most until `deadline`."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:  # reset
            return True
    return False


def test_stalled_connections_are_closed_and_others_served(reg):
    reg.create_version(new_version(glb=GLB))
    idle = 1.0
    with serving(reg, limits=HttpLimits(idle_timeout_s=idle, max_connections=200)) as port:
        stalled = []
        try:
            for i in range(50):  # half a request line, then nothing (slowloris)
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET /blobs/" if i % 2 else b"GE")
                stalled.append(sock)
            idle_keepalive = socket.create_connection(("127.0.0.1", port), timeout=5)
            stalled.append(idle_keepalive)  # one full request, then an idle keep-alive connection
            idle_keepalive.sendall(f"HEAD /blobs/{sha(GLB)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert idle_keepalive.recv(4096).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            for _ in range(5):  # the server keeps answering meanwhile
                resp, body = get(port, f"/blobs/{sha(GLB)}")
                assert resp.status == 200 and body == GLB
            deadline = started + idle + 5
            still_open = [i for i, sock in enumerate(stalled) if not _closed_by_peer(sock, deadline)]
            assert still_open == [], f"{len(still_open)} stalled connections still open {idle + 5:.0f} s after"
            resp, _ = get(port, f"/blobs/{sha(GLB)}")
            assert resp.status == 200
        finally:
            for sock in stalled:
                sock.close()


def test_connection_cap_answers_503_then_recovers(reg):
    reg.create_version(new_version(glb=GLB))
    with serving(reg, limits=HttpLimits(idle_timeout_s=30, max_connections=10)) as port:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(10)]
        try:
            for sock in held:
                sock.sendall(b"GET /bl")
            deadline = time.monotonic() + 10
            status = None
            while time.monotonic() < deadline:  # the server may not have accepted all ten yet
                resp, body = get(port, f"/blobs/{sha(GLB)}")
                status = resp.status
                if status == 503:
                    break
                time.sleep(0.05)
            assert status == 503 and resp.getheader("Retry-After") == "1"
            assert resp.getheader("Access-Control-Allow-Origin") == "*" and b"too many connections" in body
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            resp, body = get(port, f"/blobs/{sha(GLB)}")
            if resp.status == 200:
                break
            time.sleep(0.05)
        assert resp.status == 200 and body == GLB

"""The read-only HTTP endpoint on a real port, spoken to by a real HTTP client."""

import asyncio
import hashlib
import http.client
import threading

import pytest
from aiohttp import web

from registry import NewArtifact
from server.http import start_http
from tests.conftest import free_port
from tests.registry.factory import new_version

GLB = bytes(range(256)) * 400  # 100 KiB


@pytest.fixture
def server(reg):
    reg.create_version(new_version(glb=GLB, extra_artifacts=[NewArtifact("glb", 1, b"glTF-lod1", "model/gltf-binary")]))
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state = {}

    async def metrics(request):
        return web.Response(text="up 1\n")

    async def start():
        state["runner"] = await start_http(reg, "127.0.0.1", port, extra_routes=[web.get("/metrics", metrics)])
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield port
    asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


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

"""The HTTP endpoint under --auth, against a real server: keys (same store and roles as gRPC), signed URLs,
metrics, revocation, and the exposure rule for --http-address."""

from __future__ import annotations

import hashlib
import http.client
import socket
import stat
import subprocess
import sys
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from meshsmith.errors import InvalidInput
from meshsmith.v1 import admin_pb2
from meshsmith_client.client import Client
from registry import Registry
from tests.conftest import free_port
from tests.registry.factory import new_version
from tests.server.conftest import start_server, stop_server
from tests.server.test_auth import _create_key

CLI = [sys.executable, "-m", "meshsmith_client"]
GLB = b"glTF" + bytes(range(256)) * 64
OTHER = b"glTF-other-asset" * 10


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("http-auth-data")
    reg = Registry(f"sqlite:///{data / 'registry.db'}", data / "blobs")
    reg.migrate()
    reg.create_version(new_version("props/chair", glb=GLB))
    reg.create_version(new_version("props/lamp", glb=OTHER))
    reg.close()
    keys = {role: _create_key(data, role) for role in ("reader", "creator", "admin")}
    metrics_port = free_port()
    s = start_server(data, "--auth", "--workers", "1", "--no-previews", "--metrics-address", f"127.0.0.1:{metrics_port}",
                     "--http-idle-timeout", "2")
    s.metrics = f"127.0.0.1:{metrics_port}"
    yield s, keys
    stop_server(s)


def get(address: str, path: str, method: str = "GET", **headers):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_401_without_a_valid_key_200_with_a_reader_key_in_either_header(secured):
    s, keys = secured
    paths = [f"/blobs/{sha(GLB)}", "/assets/props/chair@latest", "/assets/props/chair", "/metrics", "/nothing"]
    for headers in ({}, {"Authorization": "Bearer msk_nothing_wrong"}, {"X-Api-Key": "msk_nothing_wrong"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        for path in paths:
            for method in ("GET", "HEAD"):
                resp, body = get(s.http, path, method, **headers)
                assert resp.status == 401, (path, headers, resp.status)
                assert resp.getheader("WWW-Authenticate", "").startswith("Bearer")
                assert resp.getheader("Access-Control-Allow-Origin") == "*"
                assert resp.getheader("Content-Type", "").startswith("text/plain")
                if method == "GET":
                    assert b"API key" in body and GLB not in body
    for headers in ({"Authorization": f"Bearer {keys['reader']}"}, {"X-Api-Key": keys["reader"]}):
        resp, body = get(s.http, f"/blobs/{sha(GLB)}", **headers)
        assert resp.status == 200 and body == GLB
        resp, body = get(s.http, f"/blobs/{sha(GLB)}", Range="bytes=0-3", **headers)
        assert resp.status == 206 and body == GLB[:4]


def test_asset_redirect_carries_a_signed_blob_url(secured):
    s, keys = secured
    resp, _ = get(s.http, "/assets/props/chair@latest", X_Api_Key=keys["reader"])
    assert resp.status == 302 and resp.getheader("Access-Control-Allow-Origin") == "*"
    location = resp.getheader("Location")
    assert location.startswith(f"/blobs/{sha(GLB)}?") and "sig=" in location and "kid=" in location
    assert "private" in resp.getheader("Cache-Control")
    follow, body = get(s.http, location)  # no header: an <img>/GLTFLoader following the redirect
    assert follow.status == 200 and body == GLB
    exp = int(dict(parse_qsl(urlsplit(location).query))["exp"])
    assert time.time() < exp <= time.time() + 301


def test_signed_url_from_the_api(secured):
    s, keys = secured
    with Client(s.address, api_key=keys["reader"]) as c:
        url = c.url("props/chair@latest")
        lock = c.resolve_lock(["props/chair", "props/lamp"])
    assert url.startswith(f"http://{s.http}/blobs/{sha(GLB)}?")
    resp, body = get(s.http, path_of(url))
    assert resp.status == 200 and body == GLB and resp.getheader("ETag") == f'"{sha(GLB)}"'
    resp, body = get(s.http, path_of(url), "HEAD")
    assert resp.status == 200 and body == b""
    for entry in lock.entries:  # the lockfile's URLs work without a key too
        resp, body = get(s.http, path_of(entry.url))
        assert resp.status == 200 and sha(body) == entry.sha256
    out = subprocess.run([*CLI, "url", "props/lamp@1", "--expires", "60", "--server", s.address,
                          "--api-key", keys["reader"]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    resp, body = get(s.http, path_of(out.stdout.strip()))
    assert resp.status == 200 and body == OTHER
    exp = int(dict(parse_qsl(urlsplit(out.stdout.strip()).query))["exp"])
    assert time.time() < exp <= time.time() + 61
    with Client(s.address, api_key=keys["reader"]) as c, pytest.raises(InvalidInput, match="86400"):
        c.url("props/chair", expires_s=86401)  # expiry is capped


def test_tampered_expired_and_misused_signatures_are_401(secured):
    s, keys = secured
    with Client(s.address, api_key=keys["reader"]) as c:
        good = path_of(c.url("props/chair"))
        lamp = path_of(c.url("props/lamp"))
        short = path_of(c.url("props/chair", expires_s=1))
    path, query = good.split("?")
    q = dict(parse_qsl(query))
    flipped = q["sig"][:-1] + ("A" if q["sig"][-1] != "A" else "B")
    bad = {
        "tampered sig": f"{path}?{urlencode({**q, 'sig': flipped})}",
        "later exp": f"{path}?{urlencode({**q, 'exp': str(int(q['exp']) + 1)})}",
        "other kid": f"{path}?{urlencode({**q, 'kid': '0' * 12})}",
        "other path": f"/blobs/{sha(OTHER)}?{query}",
        "another blob's sig": f"{path}?{lamp.split('?')[1]}",
        "extra param": f"{good}&lod=1",
        "no sig": f"{path}?{urlencode({'exp': q['exp'], 'kid': q['kid']})}",
        "sig on /metrics": f"/metrics?{query}",
        "non-ascii sig": f"{path}?{urlencode({**q, 'sig': 'é' * 43})}",
    }
    for what, p in bad.items():
        resp, body = get(s.http, p)
        assert resp.status == 401, (what, resp.status)
        assert resp.getheader("Access-Control-Allow-Origin") == "*" and GLB not in body
    time.sleep(2.1)
    resp, body = get(s.http, short)
    assert resp.status == 401 and b"expired" in body


def test_metrics_need_admin_or_the_loopback_metrics_address(secured):
    s, keys = secured
    resp, body = get(s.http, "/metrics", X_Api_Key=keys["reader"])
    assert resp.status == 403 and b"admin role" in body and resp.getheader("Access-Control-Allow-Origin") == "*"
    resp, _ = get(s.http, "/metrics", X_Api_Key=keys["creator"])
    assert resp.status == 403
    resp, body = get(s.http, "/metrics", Authorization=f"Bearer {keys['admin']}")
    assert resp.status == 200 and b"meshsmith_jobs_active" in body
    resp, body = get(s.metrics, "/metrics")  # the open loopback address serves metrics only
    assert resp.status == 200 and b"meshsmith_jobs_active" in body
    resp, _ = get(s.metrics, f"/blobs/{sha(GLB)}")
    assert resp.status == 404


def test_preflight_stays_open_and_allows_the_key_headers(secured):
    s, _ = secured
    resp, _ = get(s.http, f"/blobs/{sha(GLB)}", "OPTIONS", Origin="https://viewer.example",
                  Access_Control_Request_Method="GET", Access_Control_Request_Headers="authorization")
    assert resp.status == 204 and resp.getheader("Access-Control-Allow-Origin") == "*"
    allowed = resp.getheader("Access-Control-Allow-Headers").lower()
    assert "authorization" in allowed and "x-api-key" in allowed


def test_revoked_key_and_its_signed_urls_are_refused_at_once(secured):
    s, keys = secured
    tmp = _create_key(s.data_dir, "reader")
    with Client(s.address, api_key=tmp) as c:
        url = path_of(c.url("props/chair"))
    resp, _ = get(s.http, f"/blobs/{sha(GLB)}", X_Api_Key=tmp)
    assert resp.status == 200
    assert get(s.http, url)[0].status == 200  # both cached as valid now
    with Client(s.address, api_key=keys["admin"]) as admin:
        admin._call(admin.admin.RevokeApiKey, admin_pb2.RevokeApiKeyRequest(id=tmp.split("_")[1]))
    resp, body = get(s.http, f"/blobs/{sha(GLB)}", X_Api_Key=tmp)
    assert resp.status == 401 and b"revoked" in body
    resp, body = get(s.http, url)
    assert resp.status == 401 and b"revoked" in body


def test_signing_secret_is_private(secured):
    s, _ = secured
    mode = stat.S_IMODE((s.data_dir / "url-signing.key").stat().st_mode)
    assert mode == 0o600 and (s.data_dir / "url-signing.key").stat().st_size == 32


def test_http_address_beyond_loopback_is_refused_like_grpc(tmp_path):
    port = free_port()
    base = [*CLI, "serve", "--address", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path)]
    for address in (f"0.0.0.0:{port}", f"127.evil.example:{port}", f"[::]:{port}"):
        out = subprocess.run([*base, "--http-address", address], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and "--http-address" in out.stderr and "requires --auth" in out.stderr, out.stderr
        out = subprocess.run([*base, "--http-address", address, "--auth"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and "requires TLS" in out.stderr, out.stderr
    out = subprocess.run([*base, "--metrics-address", f"0.0.0.0:{port}", "--auth", "--allow-insecure"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "must be a loopback address" in out.stderr, out.stderr


def test_serve_flag_closes_stalled_connections(secured):
    s, keys = secured
    host, port = s.http.rsplit(":", 1)
    stalled = [socket.create_connection((host, int(port)), timeout=5) for _ in range(20)]
    try:
        for sock in stalled:
            sock.sendall(b"GET /blobs/")
        resp, body = get(s.http, f"/blobs/{sha(GLB)}", X_Api_Key=keys["reader"])  # served meanwhile
        assert resp.status == 200 and body == GLB
        deadline = time.monotonic() + 2 + 5
        for sock in stalled:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                assert sock.recv(100) == b""
            except ConnectionResetError:
                pass
    finally:
        for sock in stalled:
            sock.close()

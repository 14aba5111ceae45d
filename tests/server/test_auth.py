"""API keys with roles, TLS and mTLS, and the exposure rules — against real servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshsmith_client.client import Client
from meshsmith.errors import PermissionDenied, Unauthenticated
from meshsmith.v1 import assets_pb2, assets_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, free_port
from tests.server.conftest import start_server, stop_server

CLI = [sys.executable, "-m", "meshsmith_client"]
FAST = pb.GenerateParams(target_faces=2000)


def _create_key(data_dir: Path, role: str) -> str:
    out = subprocess.run([*CLI, "keys", "create", "--role", role, "--name", f"test-{role}", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, check=True).stdout
    return out.split("secret (shown once, store it now): ")[1].strip()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("auth-data")
    keys = {role: _create_key(data, role) for role in ("reader", "creator", "admin")}
    s = start_server(data, "--auth", "--workers", "1", "--no-previews")
    yield s, keys
    stop_server(s)


def test_no_key_or_wrong_key_is_unauthenticated_for_unary_and_streams(secured):
    s, _ = secured
    for key in (None, "msk_nothing_wrong"):
        with Client(s.address, api_key=key) as c:
            with pytest.raises(Unauthenticated, match="API key"):
                c.history("any/asset")
            with pytest.raises(Unauthenticated):
                c.pull("any/asset")
            with pytest.raises(Unauthenticated):
                c.generate((IMAGES / "chair.png").read_bytes(), "auth/x", FAST)
            with pytest.raises(Unauthenticated):
                c.upload(b"abc", "x.png")


def test_health_stays_open(secured):
    s, _ = secured
    with grpc.insecure_channel(s.address) as ch:
        assert health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


def test_roles(secured):
    s, keys = secured
    image = (IMAGES / "chair.png").read_bytes()
    with Client(s.address, api_key=keys["creator"], timeout=300) as creator:
        v = creator.generate(image, "auth/chair", FAST)
        with pytest.raises(PermissionDenied, match="admin role"):
            creator.move_channel("auth/chair", "stable", str(v.number))
    with Client(s.address, api_key=keys["reader"], timeout=300) as reader:
        assert reader.pull("auth/chair").version.number == v.number
        with pytest.raises(PermissionDenied, match="creator role"):
            reader.generate(image, "auth/other", FAST)
    with Client(s.address, api_key=keys["admin"], timeout=300) as admin:
        ch = admin.move_channel("auth/chair", "stable", str(v.number))
        assert ch.version == v.number and ch.moved_by == "key:test-admin"
        assert admin.gc(dry_run=True).dry_run


def test_revoked_key_is_refused(secured):
    s, keys = secured
    tmp = _create_key(s.data_dir, "reader")
    key_id = tmp.split("_")[1]
    with Client(s.address, api_key=tmp) as c:
        assert c.search("auth/") is not None  # works before the revocation
    out = subprocess.run([*CLI, "keys", "revoke", key_id, "--server", s.address, "--api-key", keys["admin"]],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "(revoked)" in out.stdout, out.stderr
    with Client(s.address, api_key=tmp) as c, pytest.raises(Unauthenticated, match="revoked"):
        c.history("auth/chair")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=meshsmith test CA", cwd=d)
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={'localhost' if name == 'server' else 'build-machine'}", cwd=d)
        ext = d / f"{name}.ext"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name, cwd=d)
    return d


def test_tls_and_mtls(tmp_path, certs):
    s = start_server(tmp_path, "--workers", "1", "--no-previews", "--tls-cert", str(certs / "server.pem"),
                     "--tls-key", str(certs / "server.key"), "--tls-client-ca", str(certs / "ca.pem"))
    try:
        with Client(s.address, tls_ca=str(certs / "ca.pem"), tls_cert=str(certs / "client.pem"),
                    tls_key=str(certs / "client.key"), timeout=30) as c:
            assert c.search("") == []
        with Client(s.address, tls_ca=str(certs / "ca.pem"), timeout=10) as c:  # no client certificate
            with pytest.raises(Exception):
                c.search("")
        with grpc.insecure_channel(s.address) as ch:  # plaintext against TLS
            with pytest.raises(grpc.RpcError):
                assets_pb2_grpc.AssetServiceStub(ch).SearchAssets(assets_pb2.SearchAssetsRequest(), timeout=10)
        import http.client
        import ssl

        port = int(s.http.rsplit(":", 1)[1])
        for with_cert in (True, False):  # mTLS covers the HTTPS endpoint too
            ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
            if with_cert:
                ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client.key"))
            conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
            try:
                if with_cert:
                    conn.request("GET", "/metrics")
                    assert conn.getresponse().status == 200
                else:
                    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
                        conn.request("GET", "/metrics")
                        conn.getresponse()
            finally:
                conn.close()
    finally:
        stop_server(s)


def test_beyond_loopback_needs_auth_and_tls(tmp_path):
    port = free_port()
    out = subprocess.run([*CLI, "serve", "--address", f"0.0.0.0:{port}", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "requires --auth" in out.stderr
    out = subprocess.run([*CLI, "serve", "--address", f"0.0.0.0:{port}", "--auth", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "requires TLS" in out.stderr


def test_https_endpoint_with_the_grpc_certificate(tmp_path, certs):
    import http.client
    import ssl

    admin = _create_key(tmp_path, "admin")
    s = start_server(tmp_path, "--workers", "1", "--no-previews", "--auth", "--tls-cert", str(certs / "server.pem"),
                     "--tls-key", str(certs / "server.key"))
    try:
        host, port = s.http.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        conn = http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=10)
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {admin}"})
        resp = conn.getresponse()
        assert resp.status == 200 and b"meshsmith_jobs_active" in resp.read()
        conn.close()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)  # plaintext against HTTPS
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            conn.request("GET", "/metrics")
            conn.getresponse()
        conn.close()
        with Client(s.address, api_key=admin, tls_ca=str(certs / "ca.pem"), timeout=30) as c:
            assert c.resolve_lock([]).entries == []
        assert any(f"http https://{s.http}" in line for line in s.log)
    finally:
        stop_server(s)

"""Every RPC on the HTTP address (server/web_api.py), against a real --auth server: gRPC-Web (binary, text),
Connect (JSON unary and streaming), the same keys/roles/statuses/deadlines as native gRPC, bad payloads,
CORS, and an independent client (@connectrpc/connect-node with buf-generated code) over both transports."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time

import grpc
import pytest
from google.protobuf import json_format

from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc, types_pb2
from server.settings import load_settings
from tests.conftest import IMAGES, ROOT
from tests.server.conftest import start_server, stop_server
from tests.server.test_auth import _create_key, certs  # noqa: F401, F811  (a fixture)

ORIGIN = "http://artists.example:5173"
ASSET = "web/chair"
LIST = "/meshsmith.v1.AssetService/ListVersions"
PULL = "/meshsmith.v1.AssetService/PullArtifact"
GENERATE = "/meshsmith.v1.IngestService/Generate"
STATUS = {c.value[0]: c.name.lower() for c in grpc.StatusCode}


def get(address: str, path: str, method: str = "GET", body: bytes | None = None, **headers):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request(method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp, raw


def post(address: str, path: str, body: bytes, content_type: str, key: str | None = None, **headers):
    hdrs = {"Content-Type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
    if key:
        hdrs["Authorization"] = f"Bearer {key}"
    return get(address, path, "POST", body=body, **hdrs)


def frames(body: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(body):
        flags, size = struct.unpack_from(">BI", body, i)
        out.append((flags, body[i + 5:i + 5 + size]))
        i += 5 + size
    assert i == len(body), "a frame runs past the body"
    return out


def envelope(payload: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def grpc_web(address, path, msg, key=None, text=False, **headers):
    """(grpc-status, grpc-message, [response bytes]) of a gRPC-Web call; trailers-only or a trailer frame."""
    body = envelope(msg.SerializeToString())
    ctype = "application/grpc-web-text" if text else "application/grpc-web+proto"
    resp, raw = post(address, path, base64.b64encode(body) if text else body, ctype, key, X_Grpc_Web="1", **headers)
    assert resp.status == 200 and resp.getheader("Content-Type") == ctype
    if resp.getheader("grpc-status") is not None:  # trailers-only
        assert raw == b""
        return int(resp.getheader("grpc-status")), resp.getheader("grpc-message") or "", []
    if text:
        raw = base64.b64decode(raw) if b"=" not in raw.rstrip(b"=") else b"".join(
            base64.b64decode(c + b"=" * (-len(c) % 4)) for c in raw.replace(b"=", b" ").split())
    parts = frames(raw)
    assert parts[-1][0] == 0x80 and all(f == 0 for f, _ in parts[:-1])
    trailer = dict(line.split(":", 1) for line in parts[-1][1].decode().split("\r\n") if line)
    return int(trailer["grpc-status"]), trailer.get("grpc-message", ""), [p for _, p in parts[:-1]]


def connect_unary(address, path, payload: dict | bytes, key=None, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    resp, raw = post(address, path, body, "application/json", key, Connect_Protocol_Version="1", **headers)
    assert resp.getheader("Content-Type").startswith("application/json")
    return resp.status, json.loads(raw)


def connect_stream(address, path, payload: dict, key=None, **headers):
    """([messages as dicts], end-stream dict)."""
    resp, raw = post(address, path, envelope(json.dumps(payload).encode()), "application/connect+json", key,
                     Connect_Protocol_Version="1", **headers)
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/connect+json"
    parts = frames(raw)
    assert parts[-1][0] == 0x02 and all(f == 0 for f, _ in parts[:-1])
    return [json.loads(p) for _, p in parts[:-1]], json.loads(parts[-1][1])


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    data = tmp_path_factory.mktemp("web-api-data")
    keys = {role: _create_key(data, role) for role in ("reader", "creator", "admin")}
    s = start_server(data, "--auth", "--workers", "1", "--no-previews", "--cors-origin", ORIGIN)
    image = base64.b64encode((IMAGES / "chair.png").read_bytes()).decode()
    events, end = connect_stream(s.http, GENERATE, {"asset": ASSET, "image": image, "params": {"targetFaces": 3000}},
                                 keys["admin"], Connect_Timeout_Ms="300000")
    s.generated = (events, end)
    yield s, keys
    stop_server(s)


def native(s, key):
    channel = grpc.insecure_channel(s.address)
    return channel, [("authorization", f"Bearer {key}")] if key else []


def test_connect_streaming_generate_reports_progress_to_done(web):
    s, keys = web
    events, end = s.generated
    assert end == {}, end
    stages = [e["event"]["stage"] for e in events]
    assert stages[0] == "queued" and stages[-1] == "done" and {"reconstruct", "store"} <= set(stages)
    fractions = [e["event"].get("fraction", 0) for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1
    assert events[-1]["event"]["version"]["asset"] == ASSET and events[-1]["event"]["version"]["number"] == 1


def test_connect_json_unary_matches_native_grpc(web):
    s, keys = web
    status, body = connect_unary(s.http, LIST, {"asset": ASSET}, keys["reader"])
    channel, md = native(s, keys["reader"])
    with channel:
        want = assets_pb2_grpc.AssetServiceStub(channel).ListVersions(assets_pb2.ListVersionsRequest(asset=ASSET), metadata=md)
    assert status == 200 and [v["number"] for v in body["versions"]] == [v.number for v in want.versions]
    assert 1 in [v.number for v in want.versions]
    glb = {a["sha256"] for a in body["versions"][0]["artifacts"] if a["kind"] == "glb" and not a.get("lod")}
    assert glb == {a.sha256 for a in want.versions[0].artifacts if a.kind == "glb" and a.lod == 0}


def _registry_glb_sha(s, key) -> str:
    channel, md = native(s, key)
    with channel:
        v = assets_pb2_grpc.AssetServiceStub(channel).ListVersions(assets_pb2.ListVersionsRequest(asset=ASSET), metadata=md).versions[0]
    return next(a.sha256 for a in v.artifacts if a.kind == "glb" and a.lod == 0)


def test_connect_streaming_pull_bytes_hash_to_the_registry_sha256(web):
    s, keys = web
    msgs, end = connect_stream(s.http, PULL, {"asset": ASSET, "ref": "latest", "kind": "glb"}, keys["reader"])
    assert end == {}
    header, chunks = msgs[0]["header"], [base64.b64decode(m["chunk"]) for m in msgs[1:]]
    data = b"".join(chunks)
    assert data[:4] == b"glTF" and len(data) == int(header["artifact"]["size"])
    assert hashlib.sha256(data).hexdigest() == header["artifact"]["sha256"] == _registry_glb_sha(s, keys["reader"])


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
def test_grpc_web_unary_and_server_streaming(web, text):
    s, keys = web
    code, message, out = grpc_web(s.http, LIST, assets_pb2.ListVersionsRequest(asset=ASSET), keys["reader"], text=text)
    assert (code, message) == (0, "") and [v.number for v in assets_pb2.ListVersionsResponse.FromString(out[0]).versions] == [1]
    code, _, out = grpc_web(s.http, PULL, assets_pb2.PullArtifactRequest(asset=ASSET, ref="1", kind="glb", chunk_size=65536),
                            keys["reader"], text=text)
    parts = [assets_pb2.PullArtifactResponse.FromString(p) for p in out]
    assert code == 0 and parts[0].WhichOneof("part") == "header" and len(parts) > 2
    data = b"".join(p.chunk for p in parts[1:])
    assert hashlib.sha256(data).hexdigest() == parts[0].header.artifact.sha256 == _registry_glb_sha(s, keys["reader"])


def test_grpc_web_generate_streams_progress_events(web):
    s, keys = web
    req = ingest_pb2.GenerateRequest(asset=ASSET, image=(IMAGES / "chair.png").read_bytes(), request_id="web-again",
                                     params=types_pb2.GenerateParams(target_faces=2000))
    code, message, out = grpc_web(s.http, GENERATE, req, keys["creator"], Grpc_Timeout="300S")
    events = [ingest_pb2.GenerateResponse.FromString(p).event for p in out]
    assert code == 0, message
    assert events[-1].stage == "done" and events[-1].version.number == 2 and len(events) > 5


def _auth_cases(keys):
    return {"no key": (None, grpc.StatusCode.UNAUTHENTICATED), "unknown key": ("not-a-key", grpc.StatusCode.UNAUTHENTICATED),
            "reader on Generate": (keys["reader"], grpc.StatusCode.PERMISSION_DENIED)}


def test_auth_matrix_is_native_grpcs_over_both_protocols(web):
    s, keys = web
    req = ingest_pb2.GenerateRequest(asset="web/denied", image=b"\x89PNG")
    for case, (key, want) in _auth_cases(keys).items():
        channel, md = native(s, key)
        with channel, pytest.raises(grpc.RpcError) as err:
            list(ingest_pb2_grpc.IngestServiceStub(channel).Generate(req, metadata=md, timeout=30))
        assert err.value.code() == want, case
        code, message, out = grpc_web(s.http, GENERATE, req, key)
        assert (code, message, out) == (want.value[0], err.value.details(), []), case
        msgs, end = connect_stream(s.http, GENERATE, json.loads(_json(req)), key)
        assert msgs == [] and end["error"] == {"code": want.name.lower(), "message": err.value.details()}, case
    for key, http_status, code in ((None, 401, "unauthenticated"), (keys["creator"], 403, "permission_denied")):
        status, body = connect_unary(s.http, "/meshsmith.v1.AdminService/ListApiKeys", {}, key)
        assert (status, body["code"]) == (http_status, code)
    status, body = connect_unary(s.http, "/meshsmith.v1.AdminService/ListApiKeys", {}, keys["admin"])
    assert status == 200 and len(body["keys"]) == 3
    resp, raw = post(s.http, LIST, b'{"asset": "web/chair"}', "application/json", X_Api_Key=keys["reader"])
    assert resp.status == 200 and json.loads(raw)["versions"]  # the other key header, as over gRPC metadata


def _json(msg) -> str:
    return json_format.MessageToJson(msg)


BAD_JSON = {
    "malformed JSON": (b'{"asset": ', "Failed to load JSON"),
    "unknown field": (b'{"asset": "web/chair", "pageSizes": 3}', 'no field named "pageSizes"'),
    "wrong type": (b'{"asset": ["web/chair"]}', "asset"),
    "not UTF-8": (b'{"asset": "\xff\xfe"}', "UTF-8"),
    "not an object": (b'[1, 2]', "ListVersionsRequest"),
}


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_bad_connect_json_is_invalid_argument_with_the_reason(web, case):
    s, keys = web
    body, reason = BAD_JSON[case]
    status, err = connect_unary(s.http, LIST, body, keys["reader"])
    assert (status, err["code"]) == (400, "invalid_argument"), err
    assert reason in err["message"] and "meshsmith.v1.ListVersionsRequest" in err["message"]
    assert "Traceback" not in err["message"]


def test_bad_protobuf_bytes_are_invalid_argument_on_every_protocol(web):
    s, keys = web
    junk = b"\x0a\xff\xff\xff\xff\x0f"  # field 1, length far beyond the body
    resp, raw = post(s.http, LIST, junk, "application/proto", keys["reader"])
    err = json.loads(raw)
    assert resp.status == 400 and err["code"] == "invalid_argument" and "not a valid protobuf" in err["message"]
    resp, raw = post(s.http, LIST, envelope(junk), "application/grpc-web+proto", keys["reader"])
    assert resp.getheader("grpc-status") == "3" and "ListVersionsRequest" in resp.getheader("grpc-message")
    resp, raw = post(s.http, LIST, b"\x00\x00\x00\x00\x09ab", "application/grpc-web+proto", keys["reader"])
    assert resp.getheader("grpc-status") == "3" and "frame says 9 bytes" in resp.getheader("grpc-message")
    resp, raw = post(s.http, LIST, b"!!not base64!!", "application/grpc-web-text", keys["reader"])
    assert resp.getheader("grpc-status") == "3" and "base64" in resp.getheader("grpc-message")
    resp, raw = post(s.http, PULL, envelope(b'{"asset": 7}'), "application/connect+json", keys["reader"])
    end = json.loads(frames(raw)[-1][1])
    assert resp.status == 200 and end["error"]["code"] == "invalid_argument"


def test_a_deadline_that_passes_is_deadline_exceeded(web):
    s, keys = web
    image = base64.b64encode((IMAGES / "chair.png").read_bytes()).decode()
    msgs, end = connect_stream(s.http, GENERATE, {"asset": "web/late", "image": image, "requestId": "late-1"},
                               keys["creator"], Connect_Timeout_Ms="150")
    assert end["error"]["code"] == "deadline_exceeded" and all(m["event"]["stage"] != "done" for m in msgs)
    if msgs:  # as over native gRPC, a passed deadline cancels the job (server/ingest_service.follow)
        job_id, state = msgs[0]["event"]["jobId"], None
        for _ in range(100):
            status, job = connect_unary(s.http, "/meshsmith.v1.JobService/GetJob", {"jobId": job_id}, keys["creator"])
            state = job["job"]["state"]
            if state in ("JOB_STATE_CANCELLED", "JOB_STATE_DONE", "JOB_STATE_FAILED"):
                break
            time.sleep(0.1)
        assert state == "JOB_STATE_CANCELLED"
    req = ingest_pb2.GenerateRequest(asset="web/late", image=(IMAGES / "chair.png").read_bytes(), request_id="late-2")
    code, message, _ = grpc_web(s.http, GENERATE, req, keys["creator"], Grpc_Timeout="150m")
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0] and "Deadline Exceeded" in message
    code, message, _ = grpc_web(s.http, LIST, assets_pb2.ListVersionsRequest(asset=ASSET), keys["reader"], Grpc_Timeout="soon")
    assert code == 3 and "grpc-timeout" in message


def test_numbers_in_headers_and_json_are_ascii_digits(web):
    """Issue 18: `grpc-timeout: ١٢S` was read as 12 s, `connect-timeout-ms: ²` answered HTTP 500, and
    protobuf's JSON parser read `"pageSize": "١٢"` or `"1_0"` as numbers."""
    s, keys = web
    msg = assets_pb2.ListVersionsRequest(asset=ASSET)
    for value in ("١٢S".encode(), "١٢m".encode(), "²S".encode("latin-1"), b"1_0S", b"+5S", b"S", b"123456789S"):
        code, message, _ = grpc_web(s.http, LIST, msg, keys["reader"], Grpc_Timeout=value)
        assert code == 3 and "grpc-timeout" in message, (value, code, message)
    for value in ("²".encode("latin-1"), "١٢".encode(), b"1_0", b"-5", b"12345678901"):
        status, err = connect_unary(s.http, LIST, {"asset": ASSET}, keys["reader"], Connect_Timeout_Ms=value)
        assert (status, err["code"]) == (400, "invalid_argument") and "connect-timeout-ms" in err["message"], (value, err)
    status, body = connect_unary(s.http, LIST, {"asset": ASSET}, keys["reader"], Connect_Timeout_Ms="5000")
    assert status == 200 and body["versions"]
    for bad in ("١٢", "1_0", "１２", " 12", "0x10"):
        status, err = connect_unary(s.http, LIST, {"asset": ASSET, "pageSize": bad}, keys["reader"])
        assert (status, err["code"]) == (400, "invalid_argument") and "pageSize" in err["message"], (bad, err)
    status, body = connect_unary(s.http, LIST, {"asset": ASSET, "pageSize": "2"}, keys["reader"])
    assert status == 200 and len(body["versions"]) <= 2
    status, err = connect_unary(s.http, LIST, b'{"asset": "x", "asset": "y"}', keys["reader"])
    assert (status, err["code"]) == (400, "invalid_argument") and "asset" in err["message"]


def test_client_streaming_upload_is_unimplemented_with_the_alternative(web):
    s, keys = web
    code, message, _ = grpc_web(s.http, "/meshsmith.v1.IngestService/Upload", ingest_pb2.UploadRequest(), keys["admin"])
    assert code == grpc.StatusCode.UNIMPLEMENTED.value[0] and "GenerateRequest.image" in message
    status, err = connect_unary(s.http, "/meshsmith.v1.IngestService/Upload", {}, keys["admin"])
    assert (status, err["code"]) == (501, "unimplemented") and "client-streaming" in err["message"]
    code, message, _ = grpc_web(s.http, "/meshsmith.v1.IngestService/Upload", ingest_pb2.UploadRequest(), None)
    assert code == grpc.StatusCode.UNAUTHENTICATED.value[0]  # auth first, as over native gRPC


def test_unknown_methods_wrong_verbs_and_content_types(web):
    s, keys = web
    code, message, _ = grpc_web(s.http, "/meshsmith.v1.AssetService/Nope", assets_pb2.ListVersionsRequest(), keys["reader"])
    assert code == grpc.StatusCode.UNIMPLEMENTED.value[0] and "Nope" in message
    resp, _ = get(s.http, LIST)
    assert resp.status == 405
    resp, body = post(s.http, LIST, b"asset=x", "application/x-www-form-urlencoded", keys["reader"])
    assert resp.status == 415 and b"application/json" in body
    status, err = connect_unary(s.http, PULL, {"asset": ASSET}, keys["reader"])
    assert status == 415 and "application/connect+json" in err["message"]


def test_request_over_the_message_limit_is_resource_exhausted(web):
    s, keys = web
    host, port = s.http.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {LIST} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer "
                     f"{keys['reader']}\r\nContent-Length: {65 * 2**20}\r\n\r\n{{}}".encode())
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 429") and "resource_exhausted" in answer and "limit" in answer


def test_cors_preflight_and_answers_for_the_configured_origin_only(web):
    s, keys = web
    resp, _ = get(s.http, LIST, "OPTIONS", Origin=ORIGIN, Access_Control_Request_Method="POST",
                  Access_Control_Request_Headers="content-type,x-grpc-web,authorization,connect-protocol-version")
    allowed = resp.getheader("Access-Control-Allow-Headers").lower()
    assert resp.status == 204 and resp.getheader("Access-Control-Allow-Origin") == ORIGIN
    assert {"content-type", "x-grpc-web", "authorization", "connect-protocol-version", "grpc-timeout",
            "connect-timeout-ms", "x-user-agent"} <= {h.strip() for h in allowed.split(",")}
    resp, body = get(s.http, LIST, "OPTIONS", Origin="http://evil.example", Access_Control_Request_Method="POST")
    assert resp.status == 403 and resp.getheader("Access-Control-Allow-Origin") is None and b"--cors-origin" in body
    resp, _ = post(s.http, LIST, envelope(b""), "application/grpc-web+proto", keys["reader"], Origin=ORIGIN)
    assert resp.getheader("Access-Control-Allow-Origin") == ORIGIN
    assert "grpc-status" in resp.getheader("Access-Control-Expose-Headers").lower()
    resp, _ = post(s.http, LIST, envelope(b""), "application/grpc-web+proto", keys["reader"], Origin="http://evil.example")
    assert resp.getheader("Access-Control-Allow-Origin") is None
    resp, _ = get(s.http, "/blobs/" + "0" * 64, "OPTIONS", Origin="http://evil.example", Access_Control_Request_Method="GET")
    assert resp.status == 204 and resp.getheader("Access-Control-Allow-Origin") == "*"  # /blobs stays open


def test_cors_origins_from_the_environment():
    s = load_settings(environ={"MESHSMITH_CORS_ORIGINS": "http://Artists.example:5173, *"})
    assert s.cors_origins == ("http://artists.example:5173", "*")
    assert load_settings(environ={}).cors_origins == ()  # default: same-origin only


def test_cors_origin_flag_is_checked(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "meshsmith_client", "serve", "--data-dir", str(tmp_path), "--cors-origin", "http://x.example/app"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "is not an origin" in proc.stderr


@pytest.mark.parametrize("transport", ["connect", "grpcweb"])
def test_independent_connect_node_client(web, transport, tmp_path):
    s, keys = web
    if shutil.which("node") is None or not (ROOT / "node_modules" / "@connectrpc" / "connect-node").is_dir():
        pytest.fail("node and @connectrpc/connect-node are needed: run `make install`")
    asset = f"node/{transport}"
    proc = subprocess.run(["node", str(ROOT / "tests" / "server" / "connect_client.mjs"), f"http://{s.http}", transport,
                           str(IMAGES / "chair.png"), asset, keys["admin"]], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["stages"][0] == "queued" and out["stages"][-1] == "done" and out["version"] == 1 and out["listed"] == [1]
    assert out["pulled"]["sha256"] == out["pulled"]["header"] and out["pulled"]["size"] > 1000
    assert out["missing"]["code"] == "NotFound" and "no/such-asset" in out["missing"]["message"]


def test_generated_typescript_is_fresh(tmp_path):
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        pytest.fail("buf is not installed: run `make install`")
    subprocess.run([str(buf), "generate", "-o", str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    gen = ROOT / "clients" / "web" / "gen"
    fresh = {p.relative_to(tmp_path / "clients" / "web" / "gen"): p.read_bytes()
             for p in (tmp_path / "clients" / "web" / "gen").rglob("*") if p.is_file()}
    committed = {p.relative_to(gen): p.read_bytes() for p in gen.rglob("*") if p.is_file()}
    assert fresh.keys() == committed.keys() and all(fresh[k] == committed[k] for k in fresh), \
        "clients/web/gen is stale: run `make proto`"


def test_grpc_web_json_and_connect_proto_codecs(web):
    s, keys = web
    resp, raw = post(s.http, LIST, envelope(b'{"asset": "web/chair"}'), "application/grpc-web+json", keys["reader"])
    parts = frames(raw)
    assert resp.status == 200 and 1 in [v["number"] for v in json.loads(parts[0][1])["versions"]] and b"grpc-status:0" in parts[-1][1]
    req = assets_pb2.PullArtifactRequest(asset=ASSET, ref="1", kind="glb")
    resp, raw = post(s.http, PULL, envelope(req.SerializeToString()), "application/connect+proto", keys["reader"])
    parts = frames(raw)
    msgs = [assets_pb2.PullArtifactResponse.FromString(p) for f, p in parts if f == 0]
    assert resp.getheader("Content-Type") == "application/connect+proto" and json.loads(parts[-1][1]) == {}
    assert hashlib.sha256(b"".join(m.chunk for m in msgs[1:])).hexdigest() == msgs[0].header.artifact.sha256


def test_a_client_gone_mid_stream_leaves_the_server_serving(web):
    s, keys = web
    host, port = s.http.rsplit(":", 1)
    body = envelope(json.dumps({"asset": ASSET, "ref": "1", "kind": "glb", "chunkSize": 1024}).encode())
    for _ in range(3):  # read the first bytes of a many-chunk stream, then hang up
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST {PULL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\nAuthorization: "
                         f"Bearer {keys['reader']}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    status, out = connect_unary(s.http, LIST, {"asset": ASSET}, keys["reader"])
    assert status == 200 and out["versions"]
    assert not any("Traceback" in line or "Error handling request" in line for line in s.log), "".join(s.log[-30:])


def test_https_carries_the_api_with_the_grpc_certificate(tmp_path, certs):  # noqa: F811
    key = _create_key(tmp_path, "reader")
    s = start_server(tmp_path, "--workers", "1", "--no-previews", "--auth", "--tls-cert", str(certs / "server.pem"),
                     "--tls-key", str(certs / "server.key"))
    try:
        host, port = s.http.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        for secret, want in ((key, 404), (None, 401)):
            conn = http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=30)
            conn.request("POST", LIST, body=b'{"asset": "no/such"}', headers={
                "Content-Type": "application/json", **({"Authorization": f"Bearer {secret}"} if secret else {})})
            resp = conn.getresponse()
            assert resp.status == want, resp.read()
            conn.close()
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            post(s.http, LIST, b"{}", "application/json", key)  # plaintext to the TLS port
    finally:
        stop_server(s)

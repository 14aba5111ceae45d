"""A corpus of 200+ bad inputs, each answered with its documented status; the server stays healthy, memory flat."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from meshsmith.v1 import admin_pb2, admin_pb2_grpc, assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import jobs_pb2, jobs_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, MESHES
from tests.server.conftest import start_server, stop_server

INVALID, NOT_FOUND, UNAUTH, DENIED, EXHAUSTED, OK = (
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OK,
)
FAST = pb.GenerateParams(target_faces=1000)
CHAIR = (IMAGES / "chair.png").read_bytes()


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels: a decompression bomb must be refused before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def bad_images() -> list[tuple[str, bytes]]:
    rng = random.Random(7)
    jpeg = (IMAGES / "fox.jpg").read_bytes()
    cases = [("empty", b""), ("one byte", b"\x89"), ("text", b"hello world " * 50), ("png magic only", b"\x89PNG\r\n\x1a\n")]
    cases += [(f"truncated png at {n}", CHAIR[:n]) for n in (20, 33, 50, 100, 300, 1000, 3000, 10000, len(CHAIR) // 2, len(CHAIR) - 2000)]
    cases += [(f"truncated jpeg at {n}", jpeg[:n]) for n in (2, 10, 100, 500, 2000, 5000)]
    cases += [(f"random bytes {i}", rng.randbytes(rng.randint(10, 5000))) for i in range(20)]
    for path in sorted(IMAGES.iterdir())[:12]:  # real files of every kind, cut short
        data = path.read_bytes()
        cases += [(f"{path.name} cut to {f:.0%}", data[: int(len(data) * f)]) for f in (0.05, 0.4)]
    for i in range(15):  # corrupt the compressed pixel data
        data = bytearray(CHAIR)
        for _ in range(20):
            data[rng.randint(200, len(data) - 30)] ^= 0xFF
        cases.append((f"corrupted png {i}", bytes(data)))
    cases += [(f"bomb {w}x{h}", _png_header_only(w, h)) for w, h in ((100000, 100000), (50000, 50000), (10, 10**7), (20000, 20000))]
    cases += [("blank white", _encode(Image.new("RGB", (128, 128), "white"), "PNG")),
              ("blank black", _encode(Image.new("RGB", (300, 200), "black"), "JPEG")),
              ("transparent", _encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")),
              ("one pixel", _encode(Image.new("RGB", (1, 1), "red"), "PNG")),
              ("tiny 3x3", _encode(Image.new("RGB", (3, 3), "red"), "PNG")),
              ("gif with no object", _encode(Image.new("P", (40, 40)), "GIF")),
              ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'),
              ("pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
              ("glb instead of image", (MESHES / "cow.obj").read_bytes()[:5000]),
              ("oversized noise", np.random.default_rng(0).integers(0, 255, 33 * 2**20, dtype=np.uint8).tobytes())]
    return cases


def odd_but_valid_images() -> list[tuple[str, bytes]]:
    img = Image.open(IMAGES / "chair.png").convert("RGBA").resize((256, 256))
    flat = Image.new("RGB", img.size, "white")
    flat.paste(img, mask=img.split()[3])
    frames = [flat, flat.rotate(5)]
    anim = io.BytesIO()
    frames[0].save(anim, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return [("cmyk jpeg", _encode(flat.convert("CMYK"), "JPEG")),
            ("16-bit png", _encode(Image.fromarray((np.asarray(flat.convert("L"), np.uint16) * 257)), "PNG")),
            ("palette png", _encode(img.convert("P", palette=Image.ADAPTIVE), "PNG")),
            ("animated gif", anim.getvalue())]


BAD_NAMES = ["", "/", "../etc/passwd", "props/../../x", "..", "a/./b", "Props/Chair", "props chair", "props\\chair",
             "props//chair", "/props/chair", "props/chair/", "a" * 201, "/".join(["a"] * 20), "props/chair\x00",
             "プロップ/椅子", "props/chair;drop table assets", "props/%2e%2e", "-props", ".hidden", "props/chair@3"]

BAD_PARAMS = [pb.GenerateParams(target_faces=1), pb.GenerateParams(target_faces=10**9), pb.GenerateParams(target_height_m=-1),
              pb.GenerateParams(target_height_m=0), pb.GenerateParams(target_height_m=1e9), pb.GenerateParams(target_width_m=-2),
              pb.GenerateParams(depth_m=-0.1), pb.GenerateParams(texture_size=1), pb.GenerateParams(texture_size=10**6),
              pb.GenerateParams(mode=99)]


def bad_meshes() -> list[tuple[str, bytes, str]]:
    cow = (MESHES / "cow.obj").read_bytes()
    glb = _cow_glb()
    cases = [("empty obj", b"", "x.obj"), ("no faces", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "x.obj"),
             ("nan vertex", b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "x.obj"),
             ("inf vertex", b"v inf 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "x.obj"),
             ("index out of range", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", "x.obj"),
             ("garbage obj", b"this is not an obj file\n" * 20, "x.obj"),
             ("garbage stl", b"\x00" * 50, "x.stl"), ("ascii stl broken", b"solid x\nfacet normal 0 0 1\nouter loop\n", "x.stl"),
             ("binary stl lies about count", b"\x00" * 80 + struct.pack("<I", 10**6) + b"\x00" * 100, "x.stl"),
             ("garbage ply", b"ply\nformat nonsense\n", "x.ply"), ("garbage off", b"OFF\n3 1\n", "x.off"),
             ("garbage glb", b"glTF" + b"\x00" * 40, "x.glb"), ("json not gltf", b'{"hello": 1}', "x.gltf"),
             ("unknown extension", cow, "x.blend"), ("no extension", cow, "mesh"), ("image as mesh", CHAIR, "x.obj")]
    rng = random.Random(11)
    cases += [(f"random bytes as {ext}", rng.randbytes(rng.randint(1, 4000)), f"x.{ext}")
              for ext in ("obj", "stl", "ply", "off", "glb", "gltf") for _ in range(2)]
    cases += [(f"truncated cow obj {n}", cow[:n], "cow.obj") for n in (10, 100, 1000)]
    cases += [(f"truncated glb {n}", glb[:n], "cow.glb") for n in (12, 20, 100, 1000, len(glb) // 2, len(glb) - 4)]
    return cases


def _cow_glb() -> bytes:
    import trimesh

    return trimesh.load(MESHES / "cow.obj", force="mesh").export(file_type="glb")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("abuse-data")
    out = subprocess.run([sys.executable, "-m", "meshsmith_client", "keys", "create", "--role", "creator", "--data-dir", str(data)],
                         capture_output=True, text=True, check=True).stdout
    key = out.split("store it now): ")[1].strip()
    s = start_server(data, "--auth", "--workers", "1", "--no-previews")
    yield s, key
    stop_server(s)


def _rss_mb(pid: int) -> float:
    total = 0.0
    pids = [pid] + [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def test_bad_input_corpus(secured):
    s, key = secured
    md = (("authorization", f"Bearer {key}"),)
    channel = grpc.insecure_channel(s.address, options=[("grpc.max_send_message_length", 100 * 2**20)])
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    assets = assets_pb2_grpc.AssetServiceStub(channel)
    jobs = jobs_pb2_grpc.JobServiceStub(channel)
    admin = admin_pb2_grpc.AdminServiceStub(channel)

    def generate(image=CHAIR, asset="abuse/ok", params=FAST, metadata=md):
        return lambda: list(ingest.Generate(ingest_pb2.GenerateRequest(asset=asset, image=image, params=params), metadata=metadata, timeout=120))

    cases: list[tuple[str, object, grpc.StatusCode]] = []
    cases += [(f"image: {n}", generate(image=b), INVALID) for n, b in bad_images()]
    cases += [(f"odd image: {n}", generate(image=b, asset=f"abuse/odd-{i}"), OK) for i, (n, b) in enumerate(odd_but_valid_images())]
    cases += [("message over the server limit", generate(image=b"\0" * (65 * 2**20)), EXHAUSTED)]
    cases += [(f"name: {n!r}", generate(asset=n), INVALID) for n in BAD_NAMES]
    cases += [(f"params: {p}", generate(params=p), INVALID) for p in BAD_PARAMS]
    cases += [(f"mesh: {n}", (lambda d=d, f=f: ingest.Validate(ingest_pb2.ValidateRequest(mesh=d, filename=f), metadata=md, timeout=60)), INVALID)
              for n, d, f in bad_meshes()]
    cases += [(f"pull {a}@{r}", (lambda a=a, r=r: list(assets.PullArtifact(assets_pb2.PullArtifactRequest(asset=a, ref=r), metadata=md))), code)
              for a, r, code in (("no/such", "latest", NOT_FOUND), ("no/such", "3", NOT_FOUND), ("abuse/ok", "no-channel", NOT_FOUND),
                                 ("abuse/ok", "999", NOT_FOUND), ("../x", "1", INVALID), ("abuse/ok", "-1", INVALID),
                                 ("abuse/ok", "1.5", INVALID), ("abuse/ok", "a" * 300, INVALID))]
    cases += [("history of unknown", lambda: assets.ListVersions(assets_pb2.ListVersionsRequest(asset="no/such"), metadata=md), NOT_FOUND)]
    cases += [(f"watch {j!r}", (lambda j=j: list(jobs.WatchJob(jobs_pb2.WatchJobRequest(job_id=j), metadata=md))), NOT_FOUND)
              for j in ("", "0" * 32, "nope", "../../etc")]
    cases += [(f"cancel {j!r}", (lambda j=j: jobs.CancelJob(jobs_pb2.CancelJobRequest(job_id=j), metadata=md)), NOT_FOUND)
              for j in ("", "f" * 32)]

    def upload(parts):
        return lambda: ingest.Upload(iter(parts), metadata=md, timeout=60)

    H = ingest_pb2.UploadHeader
    cases += [("upload: empty stream", upload([]), INVALID),
              ("upload: chunk before header", upload([ingest_pb2.UploadRequest(chunk=b"abc")]), INVALID),
              ("upload: sha mismatch", upload([ingest_pb2.UploadRequest(header=H(filename="a", size=3, sha256="0" * 64)),
                                               ingest_pb2.UploadRequest(chunk=b"abc")]), INVALID),
              ("upload: more than declared", upload([ingest_pb2.UploadRequest(header=H(filename="a", size=1, sha256="0" * 64)),
                                                     ingest_pb2.UploadRequest(chunk=b"abc")]), INVALID),
              ("upload: declared too big", upload([ingest_pb2.UploadRequest(header=H(filename="a", size=10**12, sha256="0" * 64))]), INVALID),
              ("upload: short sha", upload([ingest_pb2.UploadRequest(header=H(filename="a", size=3, sha256="abc"))]), INVALID),
              ("upload: two headers", upload([ingest_pb2.UploadRequest(header=H(filename="a", size=3, sha256="0" * 64))] * 2), INVALID)]
    for n, k in (("no key", ()), ("wrong key", (("authorization", "Bearer msk_x_y"),)), ("bare key", (("authorization", "nonsense"),)),
                 ("empty bearer", (("authorization", "Bearer "),)), ("x-api-key wrong", (("x-api-key", "zzz"),))):
        cases += [(f"auth: {n} generate", generate(metadata=k), UNAUTH),
                  (f"auth: {n} pull", (lambda k=k: list(assets.PullArtifact(assets_pb2.PullArtifactRequest(asset="abuse/ok"), metadata=k))), UNAUTH),
                  (f"auth: {n} upload", (lambda k=k: ingest.Upload(iter([]), metadata=k)), UNAUTH)]
    cases += [("auth: creator moving a channel", lambda: admin.MoveChannel(admin_pb2.MoveChannelRequest(asset="abuse/ok", channel="stable", ref="1"), metadata=md), DENIED),
              ("auth: creator running gc", lambda: admin.CollectGarbage(admin_pb2.CollectGarbageRequest(), metadata=md), DENIED),
              ("auth: creator creating keys", lambda: admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(role=admin_pb2.ROLE_ADMIN), metadata=md), DENIED)]
    assert len(cases) >= 200, len(cases)

    generate()()  # one good generation first (abuse/ok@1), so ref cases hit a real asset
    for name, call, _ in cases[:40]:  # warm-up round: allocator pools settle
        try:
            call()
        except grpc.RpcError:
            pass
    before = _rss_mb(s.process.pid)
    wrong = []
    for name, call, expected in cases:
        try:
            call()
            code = OK
        except grpc.RpcError as err:
            code = err.code()
            if code == expected and expected != EXHAUSTED:
                assert err.details() and len(err.details()) > 15, (name, err.details())
        if code != expected:
            wrong.append((name, expected, code))
    after = _rss_mb(s.process.pid)
    assert not wrong, "\n".join(f"{n}: expected {e.name}, got {c.name}" for n, e, c in wrong)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert after - before < 150, f"server + worker RSS grew {after - before:.0f} MB over {len(cases)} bad inputs"
    channel.close()

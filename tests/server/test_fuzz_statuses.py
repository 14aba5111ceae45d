"""Hostile inputs that an independent attack run (issue 18, items 5 and 7) got INTERNAL/UNKNOWN for, or that
were parsed leniently, against a real server: depth maps past any sensor, `orient auto` on a flat stored
asset, zip entries flagged encrypted, view labels in other digits or past a turn, glTF node transforms
outside float32, Unicode digits in numbers, and `--expires 0` on the command line. Each answers its
documented status with a message that says what was wrong and what is allowed; the server stays healthy.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from meshsmith import limits
from meshsmith.errors import InvalidInput
from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from reconstruct.cameras import parse_label
from tests import hostile
from tests.conftest import IMAGES
from tests.server.conftest import start_server, stop_server
from tests.server.test_fuzz_params import run_cases

INVALID, PRECONDITION, OK = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                             grpc.StatusCode.OK)
CHAIR = (IMAGES / "chair.png").read_bytes()
FAST = pb.GenerateParams(target_faces=1000, lod_ratios=[1.0])
FLAT = "fuzz18/one-triangle"  # a stored asset that is one triangle: nothing to stand on
NEVER = "fuzz18/never"  # every refused Generate/Import names this asset: it must never come to exist
ONE_TRIANGLE = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
TETRA_OBJ = (b"mtllib model.mtl\nusemtl red\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
             b"f 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
MTL = b"newmtl red\nKd 0.8 0.1 0.1\n"


# ------------------------------------------------------------------------------------------- inputs


def _depth_tiff(value_or_array) -> bytes:
    """A 32-bit float TIFF the chair picture's size (512x512)."""
    arr = np.broadcast_to(np.asarray(value_or_array, np.float32), (512, 512)).copy()
    buf = io.BytesIO()
    Image.fromarray(arr, mode="F").save(buf, format="TIFF")
    return buf.getvalue()


def _depth_png16(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def checkerboard(lo: int = 1, hi: int = 65535, cell: int = 1) -> np.ndarray:
    yy, xx = np.indices((512, 512)) // cell
    return np.where((yy + xx) % 2 == 0, lo, hi)


def hostile_depth_maps() -> list[tuple[str, bytes, str, float]]:
    """(name, depth map bytes, units, fov_deg) that no sensor gives for the chair picture."""
    return [
        ("depth 3e38 m (float32 TIFF)", _depth_tiff(3e38), "m", 0.0),
        ("depth 1e30 m (float32 TIFF)", _depth_tiff(1e30), "m", 0.0),
        ("depth 1e30 m, perspective 40 deg", _depth_tiff(1e30), "m", 40.0),
        ("depth 2e4 m (past 10 km)", _depth_tiff(2e4), "m", 0.0),
        ("depth checkerboard 1 mm / 65,535 mm (16-bit PNG)", _depth_png16(checkerboard()), "mm", 0.0),
        ("depth checkerboard 1 mm / 65,535 mm, perspective 40 deg", _depth_png16(checkerboard()), "mm", 40.0),
        ("depth checkerboard of 8 px cells 1 mm / 65,535 mm", _depth_png16(checkerboard(cell=8)), "mm", 0.0),
        ("depth 1e-30 m (float32 TIFF)", _depth_tiff(1e-30), "m", 0.0),
    ]


def _zip(entries: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def _patch_entry(data: bytes, name: str, field: int, change) -> bytes:
    """`data` with the 16-bit header field at `field` (local header offset; +2 in the central directory) of zip
    entry `name` set to change(old value), in its local and central headers."""
    out = bytearray(data)
    for sig, at, name_len_at, name_at in ((b"PK\x03\x04", field, 26, 30), (b"PK\x01\x02", field + 2, 28, 46)):
        start = 0
        while (i := out.find(sig, start)) >= 0:
            n = struct.unpack_from("<H", out, i + name_len_at)[0]
            if out[i + name_at : i + name_at + n] == name.encode():
                struct.pack_into("<H", out, i + at, change(struct.unpack_from("<H", out, i + at)[0]))
            start = i + 4
    return bytes(out)


def _set_flag(data: bytes, name: str, bit: int = 0x1) -> bytes:
    """General-purpose flag `bit` set on entry `name`."""
    return _patch_entry(data, name, 6, lambda flags: flags | bit)


def _set_method(data: bytes, name: str, method: int) -> bytes:
    return _patch_entry(data, name, 8, lambda _: method)


def _corrupt_deflate(data: bytes, name: str) -> bytes:
    """The entry's compressed bytes replaced by ones no inflater accepts (sizes and CRC kept)."""
    out = bytearray(data)
    i = out.find(b"PK\x03\x04")
    while i >= 0:
        n, extra = struct.unpack_from("<HH", out, i + 26)
        if out[i + 30 : i + 30 + n] == name.encode():
            size = struct.unpack_from("<I", out, i + 18)[0]
            body = i + 30 + n + extra
            out[body : body + size] = b"\xff" * size  # block type 3: reserved
        i = out.find(b"PK\x03\x04", i + 4)
    return bytes(out)


def hostile_zips() -> list[tuple[str, bytes]]:
    good = _zip([("model.obj", TETRA_OBJ), ("model.mtl", MTL)])
    stored = _zip([("model.obj", TETRA_OBJ), ("model.mtl", MTL)], zipfile.ZIP_STORED)
    return [
        ("zip: OBJ entry flagged encrypted", _set_flag(good, "model.obj")),
        ("zip: MTL entry flagged encrypted", _set_flag(good, "model.mtl")),
        ("zip: OBJ entry flagged encrypted (stored)", _set_flag(stored, "model.obj")),
        ("zip: OBJ entry flagged strong-encrypted (bit 6)", _set_flag(good, "model.obj", 0x41)),
        ("zip: OBJ entry with compression method 99 (AES)", _set_method(good, "model.obj", 99)),
        ("zip: OBJ entry with compression method 7 (unknown)", _set_method(stored, "model.obj", 7)),
        ("zip: OBJ entry whose deflate stream is corrupt", _corrupt_deflate(good, "model.obj")),
    ]


def threemf(x0: str = "0", v1: str = "0", transform: str | None = None) -> bytes:
    """A one-tetrahedron 3MF core package; `x0` the first vertex's x, `v1` the first triangle's v1, as written."""
    item = f' transform="{transform}"' if transform else ""
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<model unit="millimeter" '
        'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02"><resources><object id="1" type="model">'
        f'<mesh><vertices><vertex x="{x0}" y="0" z="0"/><vertex x="10" y="0" z="0"/><vertex x="0" y="10" z="0"/>'
        '<vertex x="0" y="0" z="10"/></vertices><triangles>'
        f'<triangle v1="{v1}" v2="2" v3="1"/><triangle v1="0" v2="1" v3="3"/><triangle v1="0" v2="3" v3="2"/>'
        '<triangle v1="1" v2="2" v3="3"/></triangles></mesh></object></resources>'
        f'<build><item objectid="1"{item}/></build></model>')
    return _zip([("3D/3dmodel.model", model.encode())])


def hostile_numbers_in_files() -> list[tuple[str, bytes, str]]:
    """(name, file, filename): numbers a client's file spells in other digits, with underscores, or past int64."""
    return [
        ("3mf: vertex x='١٠' (Arabic-Indic)", threemf(x0="١٠"), "x.3mf"),
        ("3mf: vertex x='１０' (fullwidth)", threemf(x0="１０"), "x.3mf"),
        ("3mf: vertex x='1_0' (underscore)", threemf(x0="1_0"), "x.3mf"),
        ("3mf: triangle v1='٠'", threemf(v1="٠"), "x.3mf"),
        ("3mf: triangle v1=10^30 (past int64)", threemf(v1="1" + "0" * 30), "x.3mf"),
        ("3mf: transform in Arabic-Indic digits", threemf(transform="١ 0 0 0 1 0 0 0 1 0 0 0"), "x.3mf"),
        ("3mf: model part flagged encrypted", _set_flag(threemf(), "3D/3dmodel.model"), "x.3mf"),
        ("3mf: model part with compression method 99", _set_method(threemf(), "3D/3dmodel.model", 99), "x.3mf"),
    ]


def _gltf_node(**node) -> bytes:
    return hostile.triangle_glb(hostile.TRI, node=node)


IDENTITY = [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]


def _rewrite_json(glb: bytes, old: bytes, new: bytes) -> bytes:
    """`glb` with `old` replaced by `new` in its JSON chunk (for numbers json.dumps cannot write, like 1e400)."""
    length = struct.unpack_from("<I", glb, 12)[0]
    text, rest = glb[20 : 20 + length], glb[20 + length :]
    assert old in text
    body = text.replace(old, new).rstrip(b" ")
    body += b" " * (-len(body) % 4)
    chunks = struct.pack("<I4s", len(body), b"JSON") + body + rest
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def hostile_node_transforms() -> list[tuple[str, bytes]]:
    big = [*IDENTITY[:12], 1e39, 0, 0, 1.0]
    tree_with = lambda node: _gltf_node(**node)
    over = _rewrite_json(tree_with({"matrix": [7.0, *IDENTITY[1:]]}), b"[7.0,", b"[1e400,")
    return [
        ("glb: node matrix holds 1e39 (inf in float32)", tree_with({"matrix": big})),
        ("glb: node matrix holds 1e400 (inf in float64)", over),
        ("glb: node matrix holds -3.5e38", tree_with({"matrix": [-3.5e38, *IDENTITY[1:]]})),
        ("glb: node matrix of 15 numbers", tree_with({"matrix": IDENTITY[:15]})),
        ("glb: node matrix holds a string", tree_with({"matrix": ["1", *IDENTITY[1:]]})),
        ("glb: node translation 1e39", tree_with({"translation": [1e39, 0, 0]})),
        ("glb: node scale 1e39", tree_with({"scale": [1e39, 1, 1]})),
        ("glb: node rotation 1e39", tree_with({"rotation": [0, 0, 0, 1e39]})),
        ("glb: node translation of 2 numbers", tree_with({"translation": [1, 2]})),
        ("glb: node matrix holds 1e39 in its last row (was ignored)", tree_with({"matrix": [*IDENTITY[:15], 1e39]})),
        ("glb: node matrix holds 1e39 at [3] (was ignored)", tree_with({"matrix": [*IDENTITY[:3], 1e39, *IDENTITY[4:]]})),
        ("glb: node matrix last row 0, 0, 0, 2 (not affine)", tree_with({"matrix": [*IDENTITY[:15], 2.0]})),
        ("glb: node matrix 1e39 on a child node", hostile.triangle_glb(
            hostile.TRI, nodes=[{"children": [1]}, {"mesh": 0, "matrix": big}])),
    ]


BAD_LABELS = ["٩٠", "99999999999999999999", "１８０", "९०", "²", "1e3", "1_0", "0x10", "inf", "-inf", "nan",
              "infinity", "360.5", "-361", "720", "1e400", "90.5.5", ".", "+", "--90", "٩٠deg"]
GOOD_LABELS = {"90": (90.0, 0.0), "-90": (270.0, 0.0), "+45.5": (45.5, 0.0), "360": (0.0, 0.0), "-360": (0.0, 0.0),
               "30deg": (30.0, 0.0), "30°": (30.0, 0.0), " 120 ": (120.0, 0.0), "0.5": (0.5, 0.0), "Right": (90.0, 0.0)}


# ------------------------------------------------------------------------------------------- server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real one-worker server (SQLite: none of these cases touch the database past a lookup) holding FLAT."""
    s = start_server(tmp_path_factory.mktemp("fuzz-statuses"), "--workers", "1", "--no-previews")
    channel = grpc.insecure_channel(s.address, options=[("grpc.max_send_message_length", 64 * 2**20)])
    events = list(ingest_pb2_grpc.IngestServiceStub(channel).Import(ingest_pb2.ImportRequest(
        asset=FLAT, mesh=ONE_TRIANGLE, filename="tri.obj", lod_ratios=[1.0]), timeout=300))
    assert events[-1].event.HasField("version"), events[-1]
    yield s, channel
    channel.close()
    stop_server(s)


def corpus(channel) -> list[tuple[str, str, object, grpc.StatusCode]]:
    """(class, case name, call, expected status): one RPC each."""
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    assets = assets_pb2_grpc.AssetServiceStub(channel)
    T = 180
    cases = []

    def add(cls, name, call, expected=INVALID):
        cases.append((cls, name, call, expected))

    def generate(**fields):
        params = fields.pop("params", FAST)
        fields.setdefault("asset", NEVER)
        req = ingest_pb2.GenerateRequest(image=CHAIR, params=params, **fields)
        return lambda: list(ingest.Generate(req, timeout=T))

    def export(**fields):
        return lambda: list(assets.ExportVersion(assets_pb2.ExportVersionRequest(asset=FLAT, **fields), timeout=T))

    for name, data, units, fov in hostile_depth_maps():
        params = pb.GenerateParams(target_faces=1000, lod_ratios=[1.0], fov_deg=fov)
        add("depth maps", name, generate(params=params, depth=ingest_pb2.DepthMap(data=data, units=units)))
    # a sane 1.0-1.5 m relief, but the object is said to be 1 cm tall: 50x its size
    add("depth maps", "depth 1,000 / 1,500 mm checkerboard on a 1 cm object", generate(
        params=pb.GenerateParams(target_faces=1000, lod_ratios=[1.0], target_height_m=0.01),
        depth=ingest_pb2.DepthMap(data=_depth_png16(checkerboard(1000, 1500, 8)), units="mm")))
    # controls: a flat 1.5 m reading, and a 1.0 / 1.5 m step on a 1 m object (0.5x), are generated
    add("depth maps", "depth 1,500 mm everywhere (control)", generate(
        asset="fuzz18/depth-flat", depth=ingest_pb2.DepthMap(data=_depth_png16(np.full((512, 512), 1500)), units="mm")), OK)
    add("depth maps", "depth 1,000 / 1,500 mm halves (control)", generate(
        asset="fuzz18/depth-step", depth=ingest_pb2.DepthMap(data=_depth_png16(
            np.where(np.indices((512, 512))[1] < 256, 1000, 1500)), units="mm")), OK)

    for fmt in ("stl", "3mf", "obj"):
        add("orient auto on a flat asset", f"export {fmt} orient auto", export(format=fmt, orient="auto"), PRECONDITION)
    add("orient auto on a flat asset", "export stl orient auto + fit", export(format="stl", orient="auto", fit="prusa-mk4"),
        PRECONDITION)
    add("orient auto on a flat asset", "export stl without orient (control)", export(format="stl", fit="prusa-mk4"), OK)

    for name, data in hostile_zips():
        add("zip entries", f"validate {name}", lambda d=data: ingest.Validate(
            ingest_pb2.ValidateRequest(mesh=d, filename="model.zip"), timeout=T))
        add("zip entries", f"import {name}", lambda d=data: list(ingest.Import(ingest_pb2.ImportRequest(
            asset=NEVER, mesh=d, filename="model.zip", lod_ratios=[1.0]), timeout=T)))

    for label in BAD_LABELS:
        add("view labels", f"view label {limits.quote(label, 24)}",
            generate(views=[ingest_pb2.ViewImage(label=label, image=CHAIR)]))

    for name, data in hostile_node_transforms():
        add("glTF node transforms", f"validate {name}", lambda d=data: ingest.Validate(
            ingest_pb2.ValidateRequest(mesh=d, filename="x.glb"), timeout=T))
        add("glTF node transforms", f"import {name}", lambda d=data: list(ingest.Import(ingest_pb2.ImportRequest(
            asset=NEVER, mesh=d, filename="x.glb", lod_ratios=[1.0]), timeout=T)))

    for bed in ("２５０x２１０x２２０", "٢٥٠x٢١٠x٢٢٠", "250x210x²"):
        add("ASCII digits", f"export bed {limits.quote(bed)}", export(format="stl", bed=bed))
    for name, data, filename in hostile_numbers_in_files():
        add("ASCII digits", f"validate {name}", lambda d=data, f=filename: ingest.Validate(
            ingest_pb2.ValidateRequest(mesh=d, filename=f), timeout=T))
        add("ASCII digits", f"import {name}", lambda d=data, f=filename: list(ingest.Import(ingest_pb2.ImportRequest(
            asset=NEVER, mesh=d, filename=f, lod_ratios=[1.0]), timeout=T)))
    add("ASCII digits", "validate 3mf in ASCII digits (control)", lambda: ingest.Validate(
        ingest_pb2.ValidateRequest(mesh=threemf(transform="1 0 0 0 1 0 0 0 1 5 0 0"), filename="x.3mf"), timeout=T), OK)
    return cases


def test_hostile_cases_get_documented_statuses(served):
    s, channel = served
    cases = corpus(channel)
    wrong, short = [], []
    for cls, name, expected, code, details in run_cases(cases):
        if code != expected:
            wrong.append(f"{cls}: {name}: expected {expected.name}, got {code.name}: {details[:240]!r}")
        elif code != OK and not 20 <= len(details) <= limits.MAX_MESSAGE_CHARS + 60:
            short.append(f"{cls}: {name}: {len(details)} characters: {details!r}")
    counts: dict[str, int] = {}
    for cls, *_ in cases:
        counts[cls] = counts.get(cls, 0) + 1
    print(f"\n{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    assert not wrong, f"{len(wrong)} of {len(cases)} wrong:\n" + "\n".join(wrong)
    assert not short, "\n".join(short)
    with pytest.raises(grpc.RpcError) as err:  # nothing was stored for a refused request
        assets_pb2_grpc.AssetServiceStub(channel).GetAsset(assets_pb2.GetAssetRequest(asset=NEVER), timeout=30)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING and s.process.poll() is None


def test_messages_say_what_is_allowed(served):
    """The refusals name the problem and the accepted range, not only that something failed."""
    _, channel = served
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    assets = assets_pb2_grpc.AssetServiceStub(channel)

    def details(call) -> str:
        with pytest.raises(grpc.RpcError) as err:
            call()
        return err.value.details()

    d = details(lambda: list(ingest.Generate(ingest_pb2.GenerateRequest(asset=NEVER, image=CHAIR, params=FAST,
                                                                         depth=ingest_pb2.DepthMap(data=_depth_tiff(3e38), units="m")))))
    assert "depth map" in d and f"{limits.DEPTH_RANGE_M[1]:g}" in d, d
    d = details(lambda: list(ingest.Generate(ingest_pb2.GenerateRequest(
        asset=NEVER, image=CHAIR, params=FAST, depth=ingest_pb2.DepthMap(data=_depth_png16(checkerboard()), units="mm")))))
    assert "depth map" in d and "relief" in d, d
    d = details(lambda: list(assets.ExportVersion(assets_pb2.ExportVersionRequest(asset=FLAT, format="stl", orient="auto"))))
    assert "orient auto" in d and "flat" in d and FLAT in d, d
    zipped = _set_flag(_zip([("model.obj", TETRA_OBJ), ("model.mtl", MTL)]), "model.mtl")
    d = details(lambda: ingest.Validate(ingest_pb2.ValidateRequest(mesh=zipped, filename="model.zip")))
    assert "encrypted zip entries are not supported" in d and "model.mtl" in d, d
    for label in ("٩٠", "99999999999999999999"):
        d = details(lambda label=label: list(ingest.Generate(ingest_pb2.GenerateRequest(
            asset=NEVER, image=CHAIR, params=FAST, views=[ingest_pb2.ViewImage(label=label, image=CHAIR)]))))
        assert repr(label) in d and "ASCII digits" in d and "360" in d, d
    d = details(lambda: ingest.Validate(ingest_pb2.ValidateRequest(mesh=hostile_node_transforms()[0][1], filename="x.glb")))
    assert "node 0" in d and "matrix" in d and "float32" in d, d


def test_view_labels_parse_ascii_yaws_within_a_turn():
    for label, pose in GOOD_LABELS.items():
        assert parse_label(label) == pytest.approx(pose), label
    for label in BAD_LABELS:
        with pytest.raises(InvalidInput, match="view label"):
            parse_label(label)


# ------------------------------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshsmith_client", *args], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("command", ["url", "lock"])
@pytest.mark.parametrize("expires", ["0", "-5", "١٢", "3600.5", "86401"])
def test_cli_refuses_expires_that_is_not_a_lifetime(served, tmp_path, command, expires):
    """`--expires 0` used to give the default hour silently (0 is "default" in ResolveLockRequest); the CLI
    refuses it, negatives, other digits and more than a day before connecting, and writes nothing."""
    s, _ = served
    out = tmp_path / "assets.lock.json"
    extra = ["-o", str(out)] if command == "lock" else []
    r = _cli(command, f"{FLAT}@1", f"--expires={expires}", "--server", s.address, *extra)
    assert r.returncode != 0 and "--expires" in r.stderr and "1 to 86400" in r.stderr, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and not r.stdout and not out.exists()


def test_cli_expires_in_range_still_works(served, tmp_path):
    s, _ = served
    r = _cli("url", f"{FLAT}@1", "--expires", "60", "--server", s.address)
    assert r.returncode == 0 and "/blobs/" in r.stdout, r.stderr


def test_cli_export_orient_auto_on_a_flat_asset(served, tmp_path):
    s, _ = served
    out = tmp_path / "tri.stl"
    r = _cli("export", f"{FLAT}@1", "--format", "stl", "--orient", "auto", "-o", str(out), "--server", s.address)
    assert r.returncode == 1 and "FAILED_PRECONDITION" in r.stderr and "flat" in r.stderr, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and not out.exists()

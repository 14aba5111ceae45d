"""Multi-view and RGB-D input through the real server: gRPC, CLI, idempotence, restart, bad input, EXIF fov."""

from __future__ import annotations

import hashlib
import io
import math
import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest
import trimesh
from PIL import Image

from meshsmith.errors import InvalidInput
from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc, jobs_pb2
from meshsmith.v1 import types_pb2 as pb
from reconstruct.depthcast import rgbd
from reconstruct.exif import fov_from_exif
from reconstruct.render import Camera, RenderParams, render
from tests.server.conftest import start_server, stop_server
from validation.gltf_validator import validate_glb

BOX = (0.6, 1.0, 0.3)
POSES = {"front": (0, 0), "right": (90, 0), "back": (180, 0), "top": (0, 90)}


def _png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return buf.getvalue()


def _box(extents=BOX) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=extents)
    box.visual = trimesh.visual.ColorVisuals(box, face_colors=np.c_[np.clip(127 + 120 * box.face_normals, 0, 255),
                                                                    np.full(12, 255)].astype(np.uint8))
    return box


def _shot(mesh, label: str, size: int = 320) -> bytes:
    yaw, pitch = POSES[label]
    return _png(render(mesh, Camera(yaw_deg=yaw, pitch_deg=pitch),
                       RenderParams(size=size, background=(255, 255, 255, 255), lighting=False)))


@pytest.fixture(scope="module")
def box_views() -> dict[str, bytes]:
    box = _box()
    return {label: _shot(box, label) for label in POSES}


@pytest.fixture(scope="module")
def sphere_rgbd() -> tuple[bytes, bytes, np.ndarray]:
    """(colour PNG, 16-bit PNG depth in mm, depth in metres) of a 0.5 m sphere, a perfect sensor."""
    img, depth = rgbd(trimesh.creation.icosphere(subdivisions=5, radius=0.5), 256)
    mm = np.where(np.isfinite(depth), np.round(depth * 1000 + 2000), 0).astype(np.uint16)  # 2 m in front of it
    buf = io.BytesIO()
    Image.fromarray(mm).save(buf, format="PNG")
    return _png(img), buf.getvalue(), depth


def _glb_mesh(data: bytes) -> trimesh.Trimesh:
    mesh = trimesh.load(io.BytesIO(data), file_type="glb", force="mesh")
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    return mesh


def _check_glb(data: bytes) -> trimesh.Trimesh:
    report = validate_glb(data)
    assert report is not None and report.errors == 0, report and [m for m in report.messages if m.severity == 0]
    mesh = _glb_mesh(data)
    assert mesh.is_volume and mesh.body_count == 1
    return mesh


def test_views_end_to_end_deterministic_and_idempotent(server, box_views):
    params = pb.GenerateParams(target_faces=4000, lod_ratios=[1.0])
    with server.client() as client:
        extra = client.extra_inputs([("right", box_views["right"]), ("top", box_views["top"])])
        v1 = client.generate(box_views["front"], "views/box-a", params, **extra)
        v2 = client.generate(box_views["front"], "views/box-b", params, **extra)
        assert v2.number == 1 and not v2.reused
        again = client.generate(box_views["front"], "views/box-a", params, **extra)
        fewer = client.generate(box_views["front"], "views/box-a", params,
                                **client.extra_inputs([("right", box_views["right"])]))
        glb1, glb2 = client.pull("views/box-a", "1"), client.pull("views/box-b", "1")
        view2 = client.pull("views/box-a", "1", kind="source-view", lod=2)
    assert v1.mode == pb.RECONSTRUCT_MODE_MULTIVIEW
    assert glb1.data == glb2.data, "same inputs -> same bytes"
    assert again.reused and again.number == 1, "an identical request reuses the version"
    assert not fewer.reused and fewer.number == 2, "the extra views are part of the request's identity"
    kinds = {(a.kind, a.lod) for a in v1.artifacts}
    assert {("source", 0), ("source-view", 1), ("source-view", 2)} <= kinds
    assert view2.data == box_views["top"]
    params_json = dict(v1.parameters)
    assert [v["label"] for v in params_json["views"]] == ["right", "top"]
    assert params_json["views"][0]["sha256"] == hashlib.sha256(box_views["right"]).hexdigest()
    mesh = _check_glb(glb1.data)
    assert np.allclose(mesh.extents, BOX, rtol=0.02), mesh.extents


def test_depth_map_end_to_end(server, sphere_rgbd):
    colour, depth_png, _ = sphere_rgbd
    params = pb.GenerateParams(target_faces=6000, lod_ratios=[1.0], fov_deg=0)
    with server.client() as client:
        v = client.generate(colour, "views/sphere", params, **client.extra_inputs(depth=depth_png, depth_units="mm"))
        other = client.generate(colour, "views/sphere-2", params, **client.extra_inputs(depth=depth_png, depth_units="mm"))
        assert other.mode == pb.RECONSTRUCT_MODE_RGBD
        glb, glb2 = client.pull("views/sphere", "1"), client.pull("views/sphere-2", "1")
    assert v.mode == pb.RECONSTRUCT_MODE_RGBD
    assert ("source-depth", 0) in {(a.kind, a.lod) for a in v.artifacts}
    assert dict(v.parameters)["depth"]["units"] == "mm"
    assert glb.data == glb2.data
    mesh = _check_glb(glb.data)
    c = (mesh.bounds[0] + mesh.bounds[1]) / 2
    r = np.linalg.norm(mesh.vertices - c, axis=1)
    assert abs(r.mean() - 0.5) < 0.02 * 0.5 and abs(mesh.extents[2] - 1.0) < 0.02, mesh.extents


def test_bad_extra_inputs_are_invalid_argument(server, box_views, sphere_rgbd):
    colour, depth_png, depth = sphere_rgbd
    wide = _shot(_box((1.0, 1.0, 0.3)), "back")
    small = io.BytesIO()
    Image.fromarray(np.full((100, 80), 3000, np.uint16)).save(small, format="PNG")
    cases = [
        ("views/bad-1", box_views["front"], {"views": [("right", box_views["right"]), ("back", wide)]}, "'front' and 'back'"),
        ("views/bad-2", colour, {"depth": small.getvalue()}, "same size"),
        ("views/bad-3", colour, {"depth": colour}, "colour picture"),
        ("views/bad-4", box_views["front"], {"views": [("sideways", box_views["right"])]}, "unknown view label"),
        ("views/bad-5", box_views["front"], {"views": [(str(i * 30 + 30), box_views["right"]) for i in range(6)]}, "views has 6 items; the limit is 5"),
        ("views/bad-6", box_views["front"], {"views": [("right", box_views["right"])], "depth": depth_png}, "not both"),
        ("views/bad-7", box_views["front"], {"views": [("right", b"GIF89a broken")]}, "view 'right'"),
    ]
    with server.client() as client:
        for asset, image, extra, words in cases:
            fields = client.extra_inputs(extra.get("views", ()), extra.get("depth"), "mm" if "depth" in extra else "")
            with pytest.raises(InvalidInput, match=words) as err:
                client.generate(image, asset, pb.GenerateParams(target_faces=2000), **fields)
            assert err.value.status == "INVALID_ARGUMENT", (asset, err.value)
        with pytest.raises(InvalidInput, match="mode multiview needs views"):
            client.generate(box_views["front"], "views/bad-10", pb.GenerateParams(mode=pb.RECONSTRUCT_MODE_MULTIVIEW))
        with pytest.raises(InvalidInput, match="fov_deg"):
            client.generate(box_views["front"], "views/bad-8", pb.GenerateParams(fov_deg=150))
        with pytest.raises(InvalidInput, match="depth_units"):
            client.generate(colour, "views/bad-9", pb.GenerateParams(),
                            depth=ingest_pb2.DepthMap(data=depth_png, units="feet"))
    with server.client() as client:  # nothing was stored for any of them
        for asset, *_ in cases:
            with pytest.raises(Exception, match="NOT_FOUND|no asset|not found"):
                client.get_asset(asset)


def _exif_jpeg(rgb: np.ndarray, focal35: float | None = None, focal: float | None = None,
               plane_res: float | None = None, orientation: int = 1) -> bytes:
    ex = Image.Exif()
    ex[0x0112] = orientation
    ifd = ex.get_ifd(0x8769)
    if focal35:
        ifd[0xA405] = focal35
    if focal:
        ifd[0x920A] = focal
    if plane_res:
        ifd[0xA20E] = ifd[0xA20F] = plane_res
        ifd[0xA210] = 4  # per millimetre
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=95, exif=ex)
    return buf.getvalue()


def test_fov_from_exif():
    land = np.full((200, 300, 3), 200, np.uint8)
    assert fov_from_exif(_exif_jpeg(land, focal35=50)) == pytest.approx(math.degrees(2 * math.atan(24 / 100)))
    portrait = np.full((300, 200, 3), 200, np.uint8)
    assert fov_from_exif(_exif_jpeg(portrait, focal35=50)) == pytest.approx(math.degrees(2 * math.atan(36 / 100)))
    # stored landscape, shown portrait (orientation 6): the 36 mm side is vertical
    assert fov_from_exif(_exif_jpeg(land, focal35=50, orientation=6)) == pytest.approx(math.degrees(2 * math.atan(36 / 100)))
    # focal length 4 mm, 50 px per mm: a 200 px tall sensor is 4 mm tall -> 2 atan(0.5)
    assert fov_from_exif(_exif_jpeg(land, focal=4.0, plane_res=50.0)) == pytest.approx(math.degrees(2 * math.atan(0.5)))
    assert fov_from_exif(_exif_jpeg(land)) is None
    assert fov_from_exif(_png(np.zeros((8, 8, 4), np.uint8))) is None


def test_fov_is_read_from_exif_through_the_server(server, box_views):
    rgb = np.asarray(Image.open(io.BytesIO(box_views["front"])).convert("RGB"))
    jpeg = _exif_jpeg(rgb, focal35=50)
    with server.client() as client:
        v = client.generate(jpeg, "views/exif", pb.GenerateParams(target_faces=2000, lod_ratios=[1.0]))
        explicit = client.generate(jpeg, "views/exif-ortho", pb.GenerateParams(target_faces=2000, lod_ratios=[1.0], fov_deg=0))
    assert dict(v.parameters)["fov_deg"] == pytest.approx(math.degrees(2 * math.atan(24 / 100)), abs=1e-4)
    assert "fov_deg" not in dict(explicit.parameters)  # 0 = orthographic, asked for: EXIF is not read


def test_cli_view_and_depth_map(server, box_views, sphere_rgbd, tmp_path):
    cli = [sys.executable, "-m", "meshsmith_client"]
    for label in ("front", "right"):
        (tmp_path / f"{label}.png").write_bytes(box_views[label])
    colour, depth_png, _ = sphere_rgbd
    (tmp_path / "colour.png").write_bytes(colour)
    (tmp_path / "depth.png").write_bytes(depth_png)
    gen = subprocess.run([*cli, "generate", str(tmp_path / "front.png"), "--name", "cli/box-views", "--faces", "3000",
                          "--view", f"right={tmp_path / 'right.png'}", "--server", server.address],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    assert "cli/box-views@1" in gen.stdout and "multiview" in gen.stdout
    gen = subprocess.run([*cli, "generate", str(tmp_path / "colour.png"), "--name", "cli/sphere-rgbd", "--faces", "3000",
                          "--depth-map", str(tmp_path / "depth.png"), "--depth-units", "mm", "--fov", "0",
                          "--server", server.address], capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    assert "rgbd" in gen.stdout
    bad = subprocess.run([*cli, "generate", str(tmp_path / "front.png"), "--name", "cli/bad", "--view", "right",
                          "--server", server.address], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "LABEL=IMAGE" in bad.stderr


def test_restart_reruns_a_job_with_its_views(tmp_path, box_views):
    """kill -9 while the job is queued or running: after the restart it runs again with every view."""
    args = ("--workers", "1", "--no-previews")
    s = start_server(tmp_path, *args)
    views = [ingest_pb2.ViewImage(label="right", image=box_views["right"]),
             ingest_pb2.ViewImage(label="top", image=box_views["top"])]
    request = ingest_pb2.GenerateRequest(asset="views/restart", image=box_views["front"], views=views,
                                         params=pb.GenerateParams(target_faces=2000, lod_ratios=[1.0]))
    job_id: list[str] = []
    got = threading.Event()

    def run() -> None:
        with grpc.insecure_channel(s.address) as channel:
            try:
                for response in ingest_pb2_grpc.IngestServiceStub(channel).Generate(request, timeout=120):
                    job_id.append(response.event.job_id)
                    got.set()
            except grpc.RpcError:
                pass
            got.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert got.wait(60) and job_id
    os.kill(s.process.pid, signal.SIGKILL)
    s.process.wait(10)
    t.join(10)
    s = start_server(tmp_path, *args)
    try:
        with s.client() as client:
            deadline = time.monotonic() + 120
            while (job := client.get_job(job_id[0])).state not in (jobs_pb2.JOB_STATE_DONE, jobs_pb2.JOB_STATE_FAILED) \
                    and time.monotonic() < deadline:
                time.sleep(0.5)
            assert job.state == jobs_pb2.JOB_STATE_DONE, job
            v = client.history("views/restart")[0]
            assert v.mode == pb.RECONSTRUCT_MODE_MULTIVIEW
            assert {("source-view", 1), ("source-view", 2)} <= {(a.kind, a.lod) for a in v.artifacts}
            assert client.pull("views/restart", "1", kind="source-view", lod=1).data == box_views["right"]
    finally:
        stop_server(s)

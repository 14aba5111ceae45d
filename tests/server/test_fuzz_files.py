"""Hostile files against a real server (issue 9, items 6-9).

Images whose headers lie or whose streams end early (Generate), meshes whose structure lies or that hold
nothing with area (Validate and Import, with and without a unit scale): each must come back
INVALID_ARGUMENT, never INTERNAL, with a message naming the problem; Latin-1 text meshes load. The
worker's peak RSS is read from /proc for every case (VmHWM, reset per case through clear_refs), the
server stays healthy, the worker is never replaced, its RSS stays flat — on SQLite and on PostgreSQL. A second server with a low
worker memory cap shows a bomb that slips past every check failing one job (RESOURCE_EXHAUSTED) while
the next job succeeds on a fresh worker.
"""

from __future__ import annotations

from contextlib import ExitStack

import os
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from tests import hostile
from tests.conftest import IMAGES, MESHES
from tests.server.conftest import fresh_pg_database, start_server, stop_server, worker_pids

INVALID, OK, EXHAUSTED = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED
FAST = pb.GenerateParams(target_faces=1000)
# a hostile file is refused before it is decoded: the worker's peak may grow this much over its warm RSS
REFUSED_PEAK_MB = 150


def proc_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset VmHWM to the current RSS


def wait_serving(channel, within_s: float = 20) -> None:
    """Health turns (back) to SERVING: readiness is polled, so a replaced worker shows for a few seconds."""
    stub, deadline = health_pb2_grpc.HealthStub(channel), time.monotonic() + within_s
    while True:
        status = stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        if status == health_pb2.HealthCheckResponse.SERVING:
            return
        assert time.monotonic() < deadline, f"health stayed {status} for {within_s} s"
        time.sleep(0.5)


def cases() -> list[tuple[str, str, str, object, grpc.StatusCode]]:
    """(class, name, rpc, payload, expected): the corpus, by class."""
    out = [("image: lies and truncations", n, "generate", d, INVALID) for n, d in hostile.hostile_images()]
    out += [("image: valid but heavy", "png: blank 6300x6300 16-bit (77 KB)", "generate", hostile.blank_16bit_png(), INVALID)]
    for n, d, f in hostile.hostile_meshes():
        out += [("mesh: structure lies and degenerate", f"validate {n}", "validate", (d, f), INVALID),
                ("mesh: structure lies and degenerate", f"import {n}", "import", (d, f, None), INVALID)]
    cow = (MESHES / "cow.obj").read_bytes()
    big = hostile.triangle_glb([[3e37, 0, 0], [-3e37, 3e37, 0], [0, -3e37, 3e37]] * 10)
    out += [("mesh: unit scale", "import cow.obj x 1e-300", "import", (cow, "cow.obj", 1e-300), INVALID),
            ("mesh: unit scale", "import cow.obj x 1e-12", "import", (cow, "cow.obj", 1e-12), INVALID),
            ("mesh: unit scale", "import 3e37 coordinates x 10", "import", (big, "x.glb", 10.0), INVALID)]
    for n, d, f in hostile.latin1_meshes():
        out += [("mesh: Latin-1 text", f"validate {n}", "validate", (d, f), OK),
                ("mesh: Latin-1 text", f"import {n}", "import", (d, f, None), OK)]
    return out


def _call(ingest, rpc: str, payload, asset: str) -> None:
    if rpc == "generate":
        list(ingest.Generate(ingest_pb2.GenerateRequest(asset=asset, image=payload, params=FAST), timeout=180))
    elif rpc == "validate":
        data, filename = payload
        ingest.Validate(ingest_pb2.ValidateRequest(mesh=data, filename=filename), timeout=120)
    else:
        data, filename, scale = payload
        req = ingest_pb2.ImportRequest(asset=asset, mesh=data, filename=filename, lod_ratios=[1.0])
        if scale is not None:
            req.unit_scale = scale
        list(ingest.Import(req, timeout=180))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def one_worker(request, tmp_path_factory):
    """A one-worker server on a SQLite file or on a fresh PostgreSQL database."""
    with ExitStack() as stack:
        extra = []
        if request.param == "postgresql":
            extra = ["--database-url", stack.enter_context(fresh_pg_database())[1]]
        s = start_server(tmp_path_factory.mktemp("fuzz-files"), "--workers", "1", "--no-previews", *extra)
        stack.callback(stop_server, s)
        yield s


def test_hostile_files_are_invalid_argument_and_cost_no_memory(one_worker):
    s = one_worker
    channel = grpc.insecure_channel(s.address, options=[("grpc.max_send_message_length", 64 * 2**20)])
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    _call(ingest, "generate", (IMAGES / "chair.png").read_bytes(), "fuzz/warm")  # warm every lazy import
    _call(ingest, "generate", (IMAGES / "plant.jpg").read_bytes(), "fuzz/warm-photo")  # and the cut-out model's session
    _call(ingest, "import", ((MESHES / "cow.obj").read_bytes(), "cow.obj", None), "fuzz/warm-mesh")
    (worker,) = worker_pids(s.process.pid)
    warm = proc_mb(worker, "VmRSS")

    table = cases()
    wrong, peaks = [], []
    for i, (klass, name, rpc, payload, expected) in enumerate(table):
        reset_peak(worker)
        try:
            _call(ingest, rpc, payload, f"fuzz/case-{i}")
            code, details = OK, ""
        except grpc.RpcError as err:
            code, details = err.code(), err.details() or ""
        peaks.append((klass, name, proc_mb(worker, "VmHWM") - warm))
        if code != expected or (code != OK and len(details) < 20):
            wrong.append(f"{name}: expected {expected.name}, got {code.name} {details[:160]!r}")

    counts: dict[str, int] = {}
    for klass, *_ in table:
        counts[klass] = counts.get(klass, 0) + 1
    print(f"\n{len(table)} hostile-file cases: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    for klass, name, grew in peaks:
        print(f"  worker peak +{grew:6.0f} MB  {name}")
    assert not wrong, "\n".join(wrong)
    assert worker_pids(s.process.pid) == [worker], "a hostile file killed the worker"
    refused = [(n, g) for k, n, g in peaks if k.startswith(("image: lies", "mesh:")) and g > REFUSED_PEAK_MB]
    assert not refused, f"refusing these grew the worker's peak by more than {REFUSED_PEAK_MB} MB: {refused}"
    assert proc_mb(worker, "VmRSS") - warm < 100, "worker RSS grew over the corpus"
    wait_serving(channel)
    channel.close()


def test_bomb_past_the_checks_fails_one_job_and_the_worker_is_replaced(tmp_path):
    """A valid 40 Mpx image needs ~2 GB in segmentation; under a 1,800 MiB worker cap it must fail alone."""
    env = dict(os.environ, MESHSMITH_WORKER_MEMORY_MB="1800")
    s = start_server(tmp_path, "--workers", "1", "--no-previews", env=env)
    try:
        channel = grpc.insecure_channel(s.address, options=[("grpc.max_send_message_length", 64 * 2**20)])
        ingest = ingest_pb2_grpc.IngestServiceStub(channel)
        before = worker_pids(s.process.pid)
        with pytest.raises(grpc.RpcError) as err:
            _call(ingest, "generate", hostile.blank_16bit_png(), "fuzz/heavy")
        assert err.value.code() == EXHAUSTED, err.value.details()
        assert "1,800 MiB" in err.value.details() and "worker was replaced" in err.value.details()
        _call(ingest, "generate", (IMAGES / "chair.png").read_bytes(), "fuzz/after")  # the next job succeeds
        after = worker_pids(s.process.pid)
        assert len(after) == 1 and after != before and s.process.poll() is None
        wait_serving(channel)
        channel.close()
    finally:
        stop_server(s)

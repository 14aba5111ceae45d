"""Durable jobs over real gRPC: re-attach, cancel, retries, uploads, back-pressure, deadlines, batch, metrics."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import threading
import time
import urllib.request

import grpc
import numpy as np
import pytest
from PIL import Image

from meshsmith.errors import Cancelled, InvalidInput, NotFound
from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc, jobs_pb2
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, ROOT
from tests.server.conftest import start_server, stop_server

FAST = pb.GenerateParams(target_faces=2000)


def _big_png(side: int) -> bytes:
    """The chair scaled up to side x side: a real object, several MB, slow enough to cancel."""
    rgba = np.array(Image.open(IMAGES / "chair.png").convert("RGBA").resize((side, side), Image.LANCZOS))
    noise = np.random.default_rng(side).integers(0, 24, rgba.shape[:2] + (3,), dtype=np.uint8)
    rgba[..., :3] = np.clip(rgba[..., :3].astype(int) + noise - 12, 0, 255).astype(np.uint8)  # photo-like grain
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def test_disconnect_then_watch_gets_stored_and_live_events(server):
    image = (IMAGES / "hamburger.png").read_bytes()
    with server.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        call = stub.Generate(ingest_pb2.GenerateRequest(asset="jobs/reattach", image=image, params=FAST))
        first = next(call).event
        call.cancel()  # the client goes away; the job goes on
    assert first.stage == "queued" and first.job_id
    with server.client() as client:
        events = list(client.watch(first.job_id))
        job = client.get_job(first.job_id)
        again = list(client.watch(first.job_id, from_sequence=3))
    assert [e.sequence for e in events] == list(range(len(events)))
    assert events[0].stage == "queued" and events[-1].HasField("version")
    assert job.state == jobs_pb2.JOB_STATE_DONE and job.version == events[-1].version.number
    assert [e.sequence for e in again] == list(range(3, len(events)))


def test_cancel_stops_the_work_and_creates_no_version(server):
    image = _big_png(3000)
    with server.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        call = stub.Generate(ingest_pb2.GenerateRequest(asset="jobs/cancelled", image=image,
                                                        params=pb.GenerateParams(target_faces=2000, texture_size=4096)))
        job_id = next(call).event.job_id
        with server.client() as client:
            job = client.cancel(job_id)
            assert job.state == jobs_pb2.JOB_STATE_CANCELLED
            with pytest.raises(grpc.RpcError) as err:
                list(call)
            assert err.value.code() == grpc.StatusCode.CANCELLED
            with pytest.raises(NotFound):
                client.get_asset("jobs/cancelled")
            with pytest.raises(Cancelled):
                list(client.watch(job_id))
            # the pool replaced the killed worker and keeps serving
            assert client.generate((IMAGES / "teapot.png").read_bytes(), "jobs/after-cancel", FAST).number == 1


def test_request_id_makes_retries_return_the_same_job_and_version(server):
    image = (IMAGES / "robot.png").read_bytes()
    with server.client() as client:
        a = client.generate(image, "jobs/retry", FAST, request_id="retry-1")
        b = client.generate(image, "jobs/retry", FAST, request_id="retry-1")
        c = client.generate(image, "jobs/retry", FAST)  # same image and params: the registry reuses it
    assert a.number == b.number == c.number == 1 and a.job_id == b.job_id
    assert c.reused


def test_upload_in_chunks_then_generate_by_id(server):
    image = _big_png(2000)
    assert len(image) > 4 * 2**20  # larger than gRPC's default message limit
    with server.client() as client:
        upload_id = client.upload(image, "big.png", chunk=512 * 1024)
        version = client.generate(b"", "jobs/uploaded", FAST, upload_id=upload_id)
        with pytest.raises(NotFound, match="upload"):
            client.generate(b"", "jobs/uploaded", FAST, upload_id="0" * 32)
        with pytest.raises(InvalidInput, match="malformed"):
            client.generate(b"", "jobs/uploaded", FAST, upload_id="../../etc/passwd")
    assert version.source_sha256 == hashlib.sha256(image).hexdigest()

    header = ingest_pb2.UploadHeader(filename="x.png", size=len(image), sha256="0" * 64)
    with server.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        parts = iter([ingest_pb2.UploadRequest(header=header), ingest_pb2.UploadRequest(chunk=image)])
        with pytest.raises(grpc.RpcError) as err:
            stub.Upload(parts, timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "sha256" in err.value.details()


def test_deadline_cancels_the_job(server):
    image = _big_png(3000)
    with server.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        events = []
        with pytest.raises(grpc.RpcError) as err:
            for r in stub.Generate(ingest_pb2.GenerateRequest(asset="jobs/deadline", image=image, params=FAST), timeout=1.0):
                events.append(r.event)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    job_id = events[0].job_id
    with server.client() as client:
        for _ in range(100):
            if client.get_job(job_id).state == jobs_pb2.JOB_STATE_CANCELLED:
                break
            time.sleep(0.1)
        assert client.get_job(job_id).state == jobs_pb2.JOB_STATE_CANCELLED
        with pytest.raises(NotFound):
            client.get_asset("jobs/deadline")


def test_batch_reports_each_item_and_resumes(server):
    good = [(IMAGES / n).read_bytes() for n in ("teapot.png", "marble.png")]
    items = [ingest_pb2.BatchItem(asset="batch/teapot", image=good[0]),
             ingest_pb2.BatchItem(asset="batch/broken", image=b"not an image at all"),
             ingest_pb2.BatchItem(asset="batch/marble", image=good[1])]
    request = ingest_pb2.BatchGenerateRequest(items=items, params=FAST, concurrency=2)
    with server.client() as client:
        first = list(client.batch(request))
        second = list(client.batch(request))
    results = {p.item.asset: p.item for p in first if p.HasField("item")}
    assert first[-1].summary.total == 3 and first[-1].summary.ok == 2 and first[-1].summary.failed == 1
    assert results["batch/broken"].error.code == "INVALID_ARGUMENT"
    assert second[-1].summary.ok == 2
    again = {p.item.asset: p.item for p in second if p.HasField("item")}
    assert again["batch/teapot"].version == results["batch/teapot"].version == 1


def test_metrics_endpoint(server):
    with server.client() as client:
        client.generate((IMAGES / "flamingo.png").read_bytes(), "jobs/metrics", FAST)
    body = urllib.request.urlopen(f"http://{server.http}/metrics", timeout=10).read().decode()
    assert 'meshsmith_jobs_total{kind="generate",state="done"}' in body
    assert "meshsmith_queue_depth" in body and "meshsmith_worker_restarts_total" in body
    assert 'meshsmith_stage_seconds_total{stage="reconstruct"}' in body


def test_full_queue_is_resource_exhausted_with_retry_hint(tmp_path):
    s = start_server(tmp_path, "--workers", "1", "--max-queue", "1", "--no-previews")
    image = _big_png(1500)
    codes, trailers = [], []

    def one(i):
        with s.channel() as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            try:
                list(stub.Generate(ingest_pb2.GenerateRequest(asset=f"queue/n{i}", image=image, params=FAST), timeout=300))
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as err:
                codes.append(err.code())
                trailers.append((err.code(), err.details(), dict(err.trailing_metadata() or ())))

    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop_server(s)
    assert codes.count(grpc.StatusCode.OK) >= 2
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    exhausted = [t for t in trailers if t[0] == grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert all(md.get("retry-after") for _, _, md in exhausted), exhausted


def test_independent_grpc_js_client_generates_and_pulls(server):
    proc = subprocess.run(["node", str(ROOT / "tests" / "server" / "node_client.js"), server.address,
                           str(IMAGES / "unicorn.png"), "node/unicorn"], capture_output=True, text=True, timeout=300,
                          env={"NODE_PATH": str(ROOT / "node_modules"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["stages"][0] == "queued" and out["stages"][-1] == "done" and out["number"] == 1
    assert out["sha256"] == out["expected_sha256"] and out["size"] == out["expected_size"]

"""Faults: kill -9 in the middle of 50 concurrent generations, restart, and check nothing partial is visible."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time

import grpc

from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc, jobs_pb2
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES
from tests.server.conftest import start_server, stop_server

IMAGES_USED = ["chair.png", "teapot.png", "hamburger.png", "flamingo.png", "marble.png"]
FINAL = {jobs_pb2.JOB_STATE_DONE, jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED}


def test_kill_9_mid_flight_then_restart_loses_nothing(tmp_path):
    args = ("--workers", "2", "--no-previews", "--max-jobs-per-caller", "64", "--gc-grace", "0")
    s = start_server(tmp_path, *args)
    images = [(IMAGES / n).read_bytes() for n in IMAGES_USED]
    job_ids: dict[int, str] = {}
    got_id = threading.Semaphore(0)

    def one(i: int) -> None:
        request = ingest_pb2.GenerateRequest(asset=f"crash/item-{i:02d}", image=images[i % len(images)],
                                             params=pb.GenerateParams(target_faces=1500, seed=i))
        with grpc.insecure_channel(s.address) as channel:
            try:
                for response in ingest_pb2_grpc.IngestServiceStub(channel).Generate(request, timeout=600):
                    if i not in job_ids:
                        job_ids[i] = response.event.job_id
                        got_id.release()
            except grpc.RpcError:
                pass  # the server dies under us: expected
            finally:
                if i not in job_ids:
                    got_id.release()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(50)]
    for t in threads:
        t.start()
    for _ in threads:
        assert got_id.acquire(timeout=120)
    assert len(job_ids) == 50, "every generation became a job before work started"
    time.sleep(4)  # some done, some running, most queued
    os.kill(s.process.pid, signal.SIGKILL)
    s.process.wait(10)
    for t in threads:
        t.join(30)

    s = start_server(tmp_path, *args)
    try:
        with s.client() as client:
            deadline = time.monotonic() + 420
            while True:
                jobs = {i: client.get_job(j) for i, j in job_ids.items()}
                if all(job.state in FINAL for job in jobs.values()) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            states = [job.state for job in jobs.values()]
            assert all(st in FINAL for st in states), states
            assert states.count(jobs_pb2.JOB_STATE_DONE) >= 45, states  # re-queued jobs finished too
            assert any(job.attempts >= 2 for job in jobs.values()), "some job was re-run after the restart"

            for i, job in jobs.items():
                asset = f"crash/item-{i:02d}"
                if job.state == jobs_pb2.JOB_STATE_DONE:
                    versions = client.history(asset)
                    assert [v.number for v in versions] == [1], (asset, [v.number for v in versions])
                    pulled = client.pull(asset, "1")  # verifies size and sha256
                    assert pulled.version.job_id == job.id
            audit = client.audit()
            assert audit.checked > 0 and not audit.mismatched and not audit.missing
            gc = client.gc(dry_run=False)
            audit = client.audit()
            assert not audit.mismatched and not audit.missing
        referenced = set()
        with s.client() as client:
            for i in job_ids:
                for v in client.history(f"crash/item-{i:02d}") if jobs[i].state == jobs_pb2.JOB_STATE_DONE else []:
                    referenced |= {a.sha256 for a in v.artifacts}
        on_disk = {p.parent.name + p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file() and not p.name.startswith(".")}
        assert referenced <= on_disk
        assert on_disk == referenced, f"GC left {len(on_disk - referenced)} unreferenced blobs (freed {len(gc.deleted)})"
        for sha in on_disk:
            path = tmp_path / "blobs" / sha[:2] / sha[2:]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    finally:
        stop_server(s)

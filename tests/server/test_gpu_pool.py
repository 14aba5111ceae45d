"""`serve --gpu-workers N` through the real server: jobs that run a learned model (a tiny random Shap-E here) go
to their own worker pool, so classical jobs keep flowing beside them; a GPU worker that dies costs its job only."""

from __future__ import annotations

import os
import signal
import threading
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshsmith.errors import MeshsmithError
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES
from tests.learned_models import tiny_shap_e_model
from tests.server.conftest import start_server, stop_server, worker_pids

pytest.importorskip("torch", reason="the learned extra is not installed (make install installs it)")
DEVICE = os.environ.get("MESHSMITH_TEST_DEVICE", "cpu")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
IMAGE = (IMAGES / "chair.png").read_bytes()
CLASSICAL = pb.GenerateParams(target_faces=1000, texture_size=128, lod_ratios=[1.0])


def _learned(seed: int) -> pb.GenerateParams:
    return pb.GenerateParams(backend="shap-e", seed=seed, target_faces=200_000, texture_size=128, lod_ratios=[1.0])


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    shap_e = tiny_shap_e_model(tmp_path_factory.mktemp("models") / "tiny-shap-e")
    s = start_server(tmp_path_factory.mktemp("gpu-pool-data"), "--workers", "1", "--gpu-workers", "1", "--no-previews",
                     "--model", f"shap-e={shap_e}", "--device", DEVICE, "--torch-threads", "1", env=ENV)
    yield s
    stop_server(s)


def _runs_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def _metrics(server) -> str:
    return urllib.request.urlopen(f"http://{server.http}/metrics", timeout=10).read().decode()


def test_a_classical_job_submitted_behind_learned_ones_finishes_before_them(pooled):
    """Two learned jobs wait for the one GPU worker; a classical generate sent after both runs in the classical
    pool and is done while the second learned job is still queued or running (one shared pool of 1: it would
    come last)."""
    finished: list[str] = []
    running, queued = threading.Event(), threading.Event()

    def learned(name: str, seed: int, started: threading.Event, stage: str) -> None:
        with pooled.client() as client:
            client.generate(IMAGE, f"pool/{name}", _learned(seed), on_event=lambda e: e.stage == stage and started.set())
        finished.append(name)

    first = threading.Thread(target=learned, args=("learned-1", 1, running, "decode"))  # decode: in a worker
    second = threading.Thread(target=learned, args=("learned-2", 2, queued, "queued"))
    first.start()
    assert running.wait(120)
    second.start()
    assert queued.wait(120)
    with pooled.client() as client:
        v = client.generate(IMAGE, "pool/classical", CLASSICAL)
    finished.append("classical")
    first.join(300)
    second.join(300)
    assert v.backend == "classical" and v.stats.watertight
    assert finished.index("classical") < finished.index("learned-2"), finished
    assert sorted(finished) == ["classical", "learned-1", "learned-2"]
    body = _metrics(pooled)
    assert 'meshsmith_pool_workers{pool="gpu"} 1.0' in body and 'meshsmith_pool_workers{pool="cpu"} 1.0' in body


def test_a_gpu_worker_that_dies_fails_its_job_only_and_is_replaced(pooled):
    with pooled.client() as client:
        client.generate(IMAGE, "pool/warm", _learned(5))  # torch is now loaded in the GPU worker only
    workers = worker_pids(pooled.process.pid)
    gpu = [pid for pid in workers if _runs_torch(pid)]
    assert len(workers) == 2 and len(gpu) == 1, (workers, gpu)  # the classical worker never imports torch

    def kill_on_decode(event) -> None:
        if event.stage == "decode":  # the job is in the GPU worker now
            os.kill(gpu[0], signal.SIGKILL)

    with pooled.client() as client:
        with pytest.raises(MeshsmithError, match="the GPU worker process died .* while running generate"):
            client.generate(IMAGE, "pool/crashed", _learned(6), on_event=kill_on_decode)
        assert client.generate(IMAGE, "pool/after-crash", CLASSICAL).stats.watertight  # the classical pool
        again = client.generate(IMAGE, "pool/after-crash-learned", _learned(6))  # a fresh GPU worker
    assert again.backend == "shap-e"
    after = worker_pids(pooled.process.pid)
    assert gpu[0] not in after and len(after) == 2
    body = _metrics(pooled)
    assert 'meshsmith_pool_restarts_total{pool="gpu"} 1.0' in body
    assert 'meshsmith_pool_restarts_total{pool="cpu"} 0.0' in body
    with grpc.insecure_channel(pooled.address) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING

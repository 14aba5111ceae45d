"""The `remote` backend through the real server: `serve --remote-key-file F --remote-url STAND-IN` against a
local stand-in for Tripo's apiv3 (tests/server/tripo_standin.py; real calls are impossible here). Success ->
a watertight textured GLB stored with its lineage; every vendor failure -> its status and no version; the key
appears in no database byte, log line, event or error message."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time

import pytest
import trimesh

from meshsmith.errors import (Aborted, Cancelled, DeadlineExceeded, FailedPrecondition, InvalidInput, MeshsmithError,
                              NotFound, ResourceExhausted, Unavailable)
from meshsmith.v1 import jobs_pb2
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import CORPUS, IMAGES, ROOT
from tests.server.conftest import start_server, stop_server
from tests.server.tripo_standin import TripoStandIn, spot_glb
from validation.gltf_validator import validate_glb

pytest.importorskip("tripo3d", reason="the remote backend's client is not installed (make install installs it)")
KEY = "tsk_standin_0f3c9a7e51d24b6c8e2f"  # only the stand-in knows it
IMAGE = "chair.png"
TIMEOUT_S = 4


@pytest.fixture(scope="module")
def glb() -> bytes:
    return spot_glb()


@pytest.fixture(scope="module")
def standin(glb):
    s = TripoStandIn(key=KEY, glb=glb).start()
    yield s
    s.stop()


def _key_file(directory, key: str = KEY):
    path = directory / "tripo.key"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory, standin):
    data = tmp_path_factory.mktemp("remote-data")
    s = start_server(data, "--workers", "1", "--no-previews", "--model", "remote=tripo",
                     "--remote-key-file", str(_key_file(tmp_path_factory.mktemp("secrets"))),
                     "--remote-url", standin.url, "--remote-timeout", str(TIMEOUT_S), "--remote-poll", "0.1")
    yield s
    stop_server(s)


EVENTS: list = []  # every event streamed by this module's jobs, searched for the key at the end


def _params(**kw) -> pb.GenerateParams:
    return pb.GenerateParams(backend="remote", target_faces=3000, texture_size=256, lod_ratios=[1.0, 0.5], **kw)


def _versions(client, asset: str) -> list:
    try:
        return client.history(asset)
    except NotFound:
        return []


def test_generate_with_the_remote_backend_stores_a_watertight_textured_glb_and_its_lineage(remote_server, standin, glb):
    standin.mode = "ok"
    with remote_server.client() as client:
        v = client.generate((IMAGES / IMAGE).read_bytes(), "remote/chair", _params(seed=5), on_event=EVENTS.append)
        stored = client.pull("remote/chair", "latest").data
    task_id = list(standin._tasks)[-1]
    assert standin.creates[-1]["model_seed"] == 5 and standin.creates[-1]["model"] == "v2.5-20250123"
    assert standin.uploads[-1].startswith(b"\x89PNG")  # the decoded picture, re-encoded as PNG
    assert set(standin.download_auth) == {""}  # the signed model URL never gets the key
    assert any(e.stage == "reconstruct" and f"Tripo task {task_id}: running" in e.message for e in EVENTS)
    assert any(e.stage == "reconstruct" and "its own texture kept" in e.message for e in EVENTS)
    assert (v.backend, v.backend_version) == ("remote", f"tripo:v2.5-20250123@{task_id}")
    lineage = {k: x.string_value for k, x in v.parameters.fields["backend"].struct_value.fields.items()}
    assert lineage == {"name": "remote", "model_id": "tripo:v2.5-20250123", "revision": task_id, "task_id": task_id,
                       "weights_sha256": hashlib.sha256(glb).hexdigest(), "device": "tripo API"}
    assert v.seed == 5 and v.stats.watertight and v.stats.bodies == 1 and v.stats.texture_size > 0
    assert any(a.kind == "glb" and a.lod == 1 for a in v.artifacts)  # LODs from meshsmith's tail
    report = validate_glb(stored)
    assert report is not None and report.errors == 0, report.messages
    mesh = trimesh.load(io.BytesIO(stored), file_type="glb", force="mesh")
    assert mesh.visual.material.baseColorTexture is not None  # Tripo's own texture, kept
    assert 2000 <= len(mesh.faces) <= 3000  # decimated to the request's target (Spot has 5,856)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)  # welded across its UV seams
    assert mesh.is_watertight and mesh.volume > 0


def test_a_model_without_texture_gets_the_picture_projected_and_the_tail_is_deterministic(remote_server, standin, glb):
    """The corpus cow (untextured, closed) as Tripo's answer: the picture goes on its front; two tasks that return
    the same file give byte-identical GLBs (different task ids: two versions)."""
    standin.glb = trimesh.load(CORPUS / "meshes" / "cow.obj", process=False).export(file_type="glb")
    try:
        with remote_server.client() as client:
            a = client.generate((IMAGES / IMAGE).read_bytes(), "remote/cow-a", _params(seed=2), on_event=EVENTS.append)
            b = client.generate((IMAGES / IMAGE).read_bytes(), "remote/cow-b", _params(seed=2), on_event=EVENTS.append)
            stored = client.pull("remote/cow-a", "latest").data
    finally:
        standin.glb = glb
    assert a.backend_version != b.backend_version  # each its own task
    sha = [next(x.sha256 for x in v.artifacts if x.kind == "glb" and x.lod == 0) for v in (a, b)]
    assert sha[0] == sha[1]
    assert a.stats.watertight and a.stats.texture_size > 0
    assert any(e.stage == "reconstruct" and "mode remote" in e.message and "picture projected on the front" in
               e.message for e in EVENTS)
    mesh = trimesh.load(io.BytesIO(stored), file_type="glb", force="mesh")
    assert mesh.visual.material.baseColorTexture is not None


def test_the_same_request_again_reuses_its_version_without_a_new_task(remote_server, standin):
    """The key of a remote version is made of what is known before the call (picture, parameters, model, seed):
    the same generate sent again (no request id, then another one) is answered `reused` from the registry and
    the stand-in sees no new upload or task; another seed is a new task and a new version."""
    standin.mode = "ok"
    picture = (IMAGES / IMAGE).read_bytes()
    with remote_server.client() as client:
        first = client.generate(picture, "remote/again", _params(seed=21), on_event=EVENTS.append)
        tasks, uploads = len(standin.creates), len(standin.uploads)
        seen: list = []
        again = client.generate(picture, "remote/again", _params(seed=21), on_event=seen.append)
        named = client.generate(picture, "remote/again", _params(seed=21), request_id="again-1", on_event=seen.append)
        other = client.generate(picture, "remote/again", _params(seed=22), on_event=EVENTS.append)
        history = client.history("remote/again")
    EVENTS.extend(seen)
    assert not first.reused and again.reused and named.reused
    assert again.number == named.number == first.number
    assert (len(standin.creates), len(standin.uploads)) == (tasks + 1, uploads + 1)  # only seed 22 made a task
    assert any("reused before running (nothing sent to the vendor)" in e.message for e in seen)
    assert not any(e.stage == "reconstruct" for e in seen)  # no worker ran
    assert not other.reused and other.number == first.number + 1 and standin.creates[-1]["model_seed"] == 22
    assert [v.number for v in history] == [other.number, first.number]
    task_id = first.parameters.fields["backend"].struct_value.fields["task_id"].string_value
    assert again.parameters.fields["backend"].struct_value.fields["task_id"].string_value == task_id  # lineage kept
    assert again.backend_version == f"tripo:v2.5-20250123@{task_id}"


def test_a_failed_task_leaves_nothing_so_the_retry_calls_the_vendor_again(remote_server, standin):
    picture = (IMAGES / IMAGE).read_bytes()
    standin.mode = "task_failed"
    try:
        with remote_server.client() as client:
            with pytest.raises(Aborted):
                client.generate(picture, "remote/retry", _params(seed=31), on_event=EVENTS.append)
            tasks = len(standin.creates)
            standin.mode = "ok"
            v = client.generate(picture, "remote/retry", _params(seed=31), on_event=EVENTS.append)
    finally:
        standin.mode = "ok"
    assert not v.reused and v.number == 1 and len(standin.creates) == tasks + 1


@pytest.fixture(scope="module")
def twins_server(tmp_path_factory, standin):
    """Two workers (so a job waiting for its twin could be seen taking one) and a long timeout: tasks are held."""
    data = tmp_path_factory.mktemp("twins-data")
    s = start_server(data, "--workers", "2", "--no-previews", "--model", "remote=tripo",
                     "--remote-key-file", str(_key_file(tmp_path_factory.mktemp("twins-secrets"))),
                     "--remote-url", standin.url, "--remote-timeout", "600", "--remote-poll", "0.1")
    yield s
    stop_server(s)


WAITING = "an identical request is running as job"


class _Generate(threading.Thread):
    """One client's generate in a thread: its events, then its version or its error."""

    def __init__(self, server, asset: str, params: pb.GenerateParams, start: threading.Barrier | None = None):
        super().__init__(daemon=True)
        self.server, self.asset, self.params, self.start_together = server, asset, params, start
        self.events: list = []
        self.version = self.error = None

    def run(self):
        if self.start_together is not None:
            self.start_together.wait(60)
        try:
            with self.server.client() as client:
                self.version = client.generate((IMAGES / IMAGE).read_bytes(), self.asset, self.params,
                                               on_event=self.events.append)
        except MeshsmithError as err:
            self.error = err

    @property
    def job_id(self) -> str:
        return next((e.job_id for e in self.events if e.job_id), "")

    @property
    def waited(self) -> bool:
        return any(WAITING in e.message for e in self.events)

    def finish(self):
        self.join(300)
        assert not self.is_alive(), f"the generate of {self.asset} did not end"
        EVENTS.extend(self.events)
        return self


def _until(condition, what: str):
    """Wait for a state of the server (a bound against hanging, not a timed assertion)."""
    end = time.monotonic() + 120
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _twins(server, standin, asset: str, seed: int) -> tuple[_Generate, _Generate, int]:
    """Two identical generates released at the same moment while Tripo holds its tasks: (the one that made the
    task, the one that waits for it, the stand-in's task count before them)."""
    tasks = len(standin.creates)
    together = threading.Barrier(2)
    pair = [_Generate(server, asset, _params(seed=seed), together) for _ in range(2)]
    for g in pair:
        g.start()
    _until(lambda: len(standin.creates) > tasks and any(g.waited for g in pair), "one task and one waiting twin")
    first, second = sorted(pair, key=lambda g: g.waited)
    assert not first.waited and WAITING + f" {first.job_id}" in " ".join(e.message for e in second.events)
    return first, second, tasks


def test_identical_requests_at_the_same_moment_make_one_task_and_one_version(twins_server, standin):
    """The second waits for the first in no worker (an unrelated request runs meanwhile on the other worker and
    is not held by the wait), then is answered `reused` with the first's version: one billed task."""
    standin.mode, standin.hold = "ok", threading.Event()
    gate = standin.hold
    try:
        first, second, tasks = _twins(twins_server, standin, "remote/twins", 41)
        standin.hold = None  # tasks created from here on are not held
        with twins_server.client() as client:
            other = client.generate((IMAGES / IMAGE).read_bytes(), "remote/twins", _params(seed=42), on_event=EVENTS.append)
        assert first.is_alive() and second.is_alive()  # both still in flight: the wait took no worker
        gate.set()
        first.finish()
        second.finish()
    finally:
        gate.set()
        standin.hold = None
    assert first.error is None and second.error is None, (first.error, second.error)
    assert len(standin.creates) == tasks + 2  # the twins' one task and the unrelated seed 42
    assert not first.version.reused and second.version.reused
    assert second.version.number == first.version.number and other.number != first.version.number
    assert second.version.backend_version == first.version.backend_version  # the first's task id, as lineage
    assert not any(e.stage == "reconstruct" for e in second.events)  # it never ran
    assert any("reused before running (nothing sent to the vendor)" in e.message for e in second.events)


def test_when_the_first_twin_fails_the_waiting_one_runs_its_own_task(twins_server, standin):
    standin.mode, standin.hold = "task_failed", threading.Event()
    gate = standin.hold
    try:
        first, second, tasks = _twins(twins_server, standin, "remote/twins-failed", 43)
        standin.mode, standin.hold = "ok", None  # the first task fails; the next one succeeds
        gate.set()
        first.finish()
        second.finish()
    finally:
        gate.set()
        standin.mode, standin.hold = "ok", None
    assert isinstance(first.error, Aborted) and first.version is None
    assert second.error is None and not second.version.reused and second.version.number == 1
    assert len(standin.creates) == tasks + 2 and any(e.stage == "reconstruct" for e in second.events)


def test_cancelling_the_waiting_twin_or_the_running_one(twins_server, standin):
    """Cancelling the waiter leaves the first running; cancelling the first lets the next waiter run its own task."""
    standin.mode, standin.hold = "ok", threading.Event()
    gate = standin.hold
    try:
        first, second, tasks = _twins(twins_server, standin, "remote/twins-cancel", 44)
        with twins_server.client() as client:
            assert client.cancel(second.job_id).state == jobs_pb2.JOB_STATE_CANCELLED
            second.finish()
            third = _Generate(twins_server, "remote/twins-cancel", _params(seed=44))
            third.start()
            _until(lambda: third.waited, "the third twin waiting for the first")
            standin.hold = None  # the third's own task, once it has one, is not held
            assert first.is_alive() and client.cancel(first.job_id).state == jobs_pb2.JOB_STATE_CANCELLED
            first.finish()
            third.finish()
    finally:
        gate.set()
        standin.hold = None
    assert isinstance(second.error, Cancelled) and isinstance(first.error, Cancelled)
    assert third.error is None and not third.version.reused and third.version.number == 1
    assert len(standin.creates) == tasks + 2  # the cancelled first's task and the third's own

FAILURES = [
    ("task_failed", Aborted, r"the Tripo task [0-9a-f-]+ failed, error code 1001: 'Fatal error on server side"),
    ("banned", InvalidInput, r"Tripo refused the picture \(task [0-9a-f-]+ banned, error code 2008\): 'the input"),
    ("server_error", Unavailable, r"Tripo failed on its side: '\[1000\] Unknown error"),
    ("no_credit", ResourceExhausted, r"the Tripo account has no credits left: .*2010.*top up the account"),
    ("rate_limited", ResourceExhausted, r"Tripo's concurrency limit is reached: '\[2000\]"),
    ("never", DeadlineExceeded, rf"Tripo did not deliver a model within {TIMEOUT_S} s \(--remote-timeout\)"),
    ("bad_model", InvalidInput, r"the model Tripo returned for task [0-9a-f-]+ is not a usable mesh: GLB is corrupt"),
    ("gone_model", Unavailable, r"the model of Tripo task [0-9a-f-]+ could not be downloaded \(HTTP 404\)"),
]


@pytest.mark.parametrize("mode,error,message", FAILURES, ids=[f[0] for f in FAILURES])
def test_each_vendor_failure_has_its_status_and_writes_no_version(remote_server, standin, mode, error, message):
    standin.mode = mode
    asset = f"remote/{mode.replace('_', '-')}"
    try:
        with remote_server.client() as client:
            with pytest.raises(error, match=message):
                client.generate((IMAGES / IMAGE).read_bytes(), asset, _params(seed=1), on_event=EVENTS.append)
            assert _versions(client, asset) == []
    finally:
        standin.mode = "ok"


def test_backends_lists_remote_as_available_with_its_model(remote_server):
    with remote_server.client() as client:
        found = {b.name: b for b in client.list_backends()}
    remote = found["remote"]
    assert remote.available and not remote.reason and remote.produces == "mesh"
    assert (remote.model_id, remote.device) == ("tripo:v2.5-20250123", "tripo API")
    out = subprocess.run([sys.executable, "-m", "meshsmith_client", "backends", "--server", remote_server.address],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "remote      mesh      available    device tripo API  tripo:v2.5-20250123@per task\n" in out.stdout, out.stdout


def test_a_wrong_key_is_failed_precondition_naming_the_flag(tmp_path, standin):
    wrong = "tsk_not_the_standin_key_7781"
    s = start_server(tmp_path / "data", "--workers", "1", "--no-previews", "--remote-key-file",
                     str(_key_file(tmp_path, wrong)), "--remote-url", standin.url, "--remote-poll", "0.1")
    try:
        with s.client() as client:
            with pytest.raises(FailedPrecondition, match=r"Tripo refused the API key from --remote-key-file .*tripo.key: "
                               r"'\[1002\] Authentication failed'; put a valid Tripo API key"):
                client.generate((IMAGES / IMAGE).read_bytes(), "remote/wrong-key", _params())
            assert _versions(client, "remote/wrong-key") == []
    finally:
        stop_server(s)
    assert wrong not in "".join(s.log)


def test_without_a_key_remote_is_unavailable_and_refused_before_queueing(server):
    with server.client() as client:
        found = {b.name: b for b in client.list_backends()}
        with pytest.raises(FailedPrecondition, match=r"backend 'remote' has no API key: start the server with "
                           r"--remote-key-file PATH"):
            client.generate((IMAGES / IMAGE).read_bytes(), "remote/none", _params())
        assert _versions(client, "remote/none") == []
    assert not found["remote"].available and "--remote-key-file" in found["remote"].reason
    out = subprocess.run([sys.executable, "-m", "meshsmith_client", "backends", "--server", server.address],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "remote      mesh      unavailable" in out.stdout and "MESHSMITH_TRIPO_API_KEY" in out.stdout, out.stdout


def test_the_key_is_in_no_database_byte_blob_log_line_or_event(remote_server, standin):
    """After the module's jobs (success and every failure; one of each again here, so it also runs alone):
    search everything they left for the key."""
    with remote_server.client() as client:
        client.generate((IMAGES / IMAGE).read_bytes(), "remote/chair", _params(seed=9), on_event=EVENTS.append)
        standin.mode = "task_failed"
        with pytest.raises(Aborted):
            client.generate((IMAGES / IMAGE).read_bytes(), "remote/leak", _params(), on_event=EVENTS.append)
        standin.mode = "ok"
    assert standin.auth_seen.count(f"Bearer {KEY}") >= 8  # the key did reach the vendor
    with remote_server.client() as client:
        history = client.history("remote/chair")
        jobs_seen = [client.get_job(e.job_id) for e in EVENTS[-3:] if e.job_id]
    needle = KEY.encode()
    leaks = [str(p) for p in remote_server.data_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert not leaks, leaks
    assert KEY not in "".join(remote_server.log)
    assert not [e for e in EVENTS if KEY in str(e)]
    assert KEY not in str(history) and KEY not in str(jobs_seen)
    assert KEY not in json.dumps([list(h.parameters.fields) for h in history])


def test_an_unreachable_api_is_unavailable_naming_the_url():
    """Nothing listens on the port: UNAVAILABLE naming --remote-url (no server needed for this one)."""
    from reconstruct.learned.base import RemoteConfig
    from reconstruct.learned.remote import generate_remote
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    remote = RemoteConfig(key=KEY, key_source="test", base_url=url, timeout_s=30, poll_s=0.1)
    with pytest.raises(Unavailable, match=rf"could not reach {url}: .*check the network and --remote-url") as err:
        generate_remote(b"\x89PNG", remote, 0, lambda *a: None)
    assert KEY not in err.value.message


def test_remote_jobs_wait_in_the_classical_pool_not_on_the_gpu_workers():
    """A remote job only waits on HTTP (minutes): it must not hold a --gpu-workers slot a local model job needs,
    unless the server's caption / segmentation model runs on it; a hosted --model alone starts no GPU pool."""
    from dataclasses import replace

    from reconstruct.learned import LearnedConfig
    from reconstruct.modes import ReconstructParams
    from server.pipeline import GenerateJob, runs_models
    from server.settings import load_settings
    from validation.decimate import DecimateParams

    job = GenerateJob(image=b"", reconstruct=ReconstructParams(), decimate=DecimateParams(target_faces=3000),
                      backend="remote", learned=LearnedConfig.build({"remote": "tripo"}, None))
    assert not runs_models(job)
    assert runs_models(replace(job, backend="shap-e"))
    assert runs_models(replace(job, learned=LearnedConfig.build({"remote": "tripo", "segment": "/m"}, None)))
    assert load_settings({"models": {"remote": "tripo"}}, environ={}).gpu_pool_size == 0


# --- issue 18 item 4: the model download goes only where the configuration allows, and stops at the cap ---

@pytest.fixture(scope="module")
def elsewhere(glb):
    """Another loopback service (a second stand-in on its own port): what a hostile vendor answer would point at.
    Its download_auth records every request it gets."""
    s = TripoStandIn(key=KEY, glb=glb).start()
    yield s
    s.stop()


def _refused(remote_server, standin, asset: str, match: str):
    with remote_server.client() as client:
        with pytest.raises(FailedPrecondition, match=match) as err:
            client.generate((IMAGES / IMAGE).read_bytes(), asset, _params(seed=51), on_event=EVENTS.append)
        assert _versions(client, asset) == []
    return err.value


def test_a_model_url_on_another_loopback_port_is_refused_unfetched(remote_server, standin, elsewhere):
    """--remote-url is 127.0.0.1:P (loopback is allowed only because it is); the vendor names 127.0.0.1:Q, the
    same host on a port no setting allows: FAILED_PRECONDITION naming the port and the flag, and Q gets nothing."""
    port = elsewhere.url.rsplit(":", 1)[1]
    standin.model_url = f"{elsewhere.url}/signed/x.glb"
    try:
        _refused(remote_server, standin, "remote/elsewhere", rf"Tripo named a download on 127\.0\.0\.1:{port}, which "
                 rf"this server does not fetch from \(allowed: 127\.0\.0\.1:\d+\); .*--remote-download-hosts")
    finally:
        standin.model_url = ""
    assert elsewhere.download_auth == []


def test_a_redirect_to_a_host_not_allowed_is_refused_and_not_followed(remote_server, standin, elsewhere):
    port = elsewhere.url.rsplit(":", 1)[1]
    before = len(standin.download_auth)
    standin.redirect_to = f"{elsewhere.url}/signed/x.glb"
    try:
        _refused(remote_server, standin, "remote/redirected", rf"Tripo's download redirected to 127\.0\.0\.1:{port}, "
                 "which this server does not fetch from")
    finally:
        standin.redirect_to = ""
    assert elsewhere.download_auth == [] and len(standin.download_auth) == before + 1


def test_a_redirect_within_the_allowed_host_is_followed(remote_server, standin, glb):
    standin.redirect_to = "{base}/signed/{task_id}.glb?final=1"
    before = len(standin.download_auth)
    try:
        with remote_server.client() as client:
            v = client.generate((IMAGES / IMAGE).read_bytes(), "remote/redirect-ok", _params(seed=52),
                                on_event=EVENTS.append)
    finally:
        standin.redirect_to = ""
    assert len(standin.download_auth) == before + 2  # the redirect, then the file
    lineage = v.parameters.fields["backend"].struct_value.fields
    assert lineage["weights_sha256"].string_value == hashlib.sha256(glb).hexdigest()


def test_a_model_declaring_more_than_the_cap_is_refused_before_its_body(remote_server, standin):
    """Content-Length 400 MiB against the 256 MiB mesh cap: refused from the headers; the stand-in got out only
    what the sockets buffer before the connection was dropped."""
    from tests.server.tripo_standin import HUGE_BYTES

    standin.mode = "huge_declared"
    try:
        _refused(remote_server, standin, "remote/huge-declared", rf"the model of Tripo task [0-9a-f-]+ declares "
                 rf"{HUGE_BYTES} bytes \(Content-Length\), over the server's {256 * 2**20} byte mesh limit; nothing "
                 "was downloaded")
    finally:
        standin.mode = "ok"
    _until(lambda: len(standin.streamed) > 0, "the stand-in to see the download dropped")
    assert standin.streamed[-1] < 32 * 2**20, standin.streamed


def test_a_huge_model_stops_at_the_cap_while_streaming_with_memory_low(standin):
    """400 MiB without a Content-Length: the download stops at cap + 1 bytes, written to a file as it comes, so
    the memory this process allocates stays at a few chunks (tracemalloc peak), not the body."""
    import tracemalloc

    from reconstruct.learned.base import RemoteConfig
    from reconstruct.learned.remote import generate_remote
    from tests.server.tripo_standin import HUGE_BYTES

    cap = 256 * 2**20
    remote = RemoteConfig(key=KEY, key_source="test", base_url=standin.url, timeout_s=120, poll_s=0.05, max_bytes=cap)
    standin.mode = "huge_model"
    sent = len(standin.streamed)
    tracemalloc.start()
    try:
        with pytest.raises(FailedPrecondition, match=rf"the model of Tripo task [0-9a-f-]+ is over the server's {cap} "
                           rf"byte mesh limit \(stopped after {cap + 1} bytes\)"):
            generate_remote(b"\x89PNG", remote, 0, lambda *a: None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        standin.mode = "ok"
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.1f} MiB allocated while downloading"
    _until(lambda: len(standin.streamed) > sent, "the stand-in to see the download dropped")
    assert cap < standin.streamed[-1] < HUGE_BYTES  # stopped, not read to the end


def test_redirects_are_followed_a_few_hops_at_most(standin):
    from reconstruct.learned.base import RemoteConfig
    from reconstruct.learned.remote import generate_remote

    remote = RemoteConfig(key=KEY, key_source="test", base_url=standin.url, timeout_s=30, poll_s=0.05)
    before = len(standin.download_auth)
    standin.redirect_to = "{base}/signed/{task_id}.glb"  # to itself, forever
    try:
        with pytest.raises(FailedPrecondition, match=r"Tripo's download redirected more than 3 times"):
            generate_remote(b"\x89PNG", remote, 0, lambda *a: None)
    finally:
        standin.redirect_to = ""
    assert len(standin.download_auth) == before + 4


def test_loopback_private_and_link_local_addresses_only_when_the_remote_url_is_one(elsewhere):
    """The address rule alone: with a public --remote-url, a host explicitly allowed by --remote-download-hosts is
    still refused when it is (or resolves to) loopback, and nothing is fetched; link-local (cloud metadata) is
    refused even when the --remote-url is loopback."""
    import asyncio

    from reconstruct.learned.fetch import FetchPolicy, download

    port = int(elsewhere.url.rsplit(":", 1)[1])
    public = FetchPolicy.build("https://93.184.215.14", "", (f"127.0.0.1:{port}", f"localhost:{port}",
                                                              "10.1.2.3"), what="Tripo")
    for url, said in ((f"https://127.0.0.1:{port}/signed/x.glb", r"127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback"),
                      (f"https://localhost:{port}/signed/x.glb", r"localhost resolves to (127\.0\.0\.1|::1), a loopback"),
                      ("https://10.1.2.3/x.glb", r"10\.1\.2\.3, a private address")):
        with pytest.raises(FailedPrecondition, match=said):
            asyncio.run(download(url, ROOT / "never-written.glb", public, 2**20))
    assert elsewhere.download_auth == [] and not (ROOT / "never-written.glb").exists()
    loopback = FetchPolicy.build(elsewhere.url, "", ("169.254.169.254:80",), what="Tripo")
    assert loopback.classes == {"public", "loopback"}
    with pytest.raises(FailedPrecondition, match=r"169\.254\.169\.254, a link-local address"):
        loopback.check_url("http://169.254.169.254/latest/meta-data/")
    assert loopback.check_url(f"{elsewhere.url}/x.glb") == ("http", "127.0.0.1", port)
    with pytest.raises(FailedPrecondition, match="over plain http"):  # https unless --remote-url is plain http
        FetchPolicy.build("https://93.184.215.14", "", ("cdn.example.com",)).check_url("http://cdn.example.com/x")


def test_the_vendors_own_api_allows_its_domains_and_download_hosts_are_checked_at_start():
    from reconstruct.learned.fetch import FetchPolicy
    from server.settings import load_settings

    tripo = FetchPolicy.build("", "https://openapi.tripo3d.ai", vendor="tripo")
    for ok in ("https://openapi.tripo3d.ai/x", "https://tripo-data.rg1.data.tripo3d.com/a.glb?sig=1"):
        # (a name's addresses are checked when it is resolved for the connection; here only the host rule)
        assert tripo.check_url(ok)[0] == "https"
    for bad in ("https://tripo3d.com.evil.example/x", "https://evil-tripo3d.com/x", "https://cdn.example.com/x",
                "https://openapi.tripo3d.ai:8443/x"):
        with pytest.raises(FailedPrecondition, match="which this server does not fetch from"):
            tripo.check_url(bad)
    s = load_settings({"remote_download_hosts": "CDN.example.com, *.example.net:8443,[::1]:9000"}, environ={})
    assert s.remote_download_hosts == ("cdn.example.com", "*.example.net:8443", "[::1]:9000")
    assert load_settings({}, environ={"MESHSMITH_REMOTE_DOWNLOAD_HOSTS": "a.example.com"}).remote_download_hosts == (
        "a.example.com",)
    for bad in ("https://cdn.example.com/", "*.com", "cdn.example.com/path", "host:99999", "a b",
                ",".join(f"h{i}.example.com" for i in range(17))):
        with pytest.raises(ValueError, match="--remote-download-hosts"):
            load_settings({"remote_download_hosts": bad}, environ={})

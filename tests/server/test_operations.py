"""Operating the service: PostgreSQL-backed server, CLI batch/watch/cancel, JSON logs, graceful drain, previews."""

from __future__ import annotations

import io
import json
import shutil
import signal
import subprocess
import sys
import threading
import uuid

import grpc
import psycopg
import pytest
from PIL import Image

from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES
from tests.server.conftest import start_server, stop_server

CLI = [sys.executable, "-m", "meshsmith_client"]
FAST = pb.GenerateParams(target_faces=2000)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def cli(server, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--server", server.address], capture_output=True, text=True, timeout=timeout)


def test_preview_is_streamed_stored_and_pullable(server, tmp_path):
    events = []
    with server.client() as client:
        client.generate((IMAGES / "bird.jpg").read_bytes(), "ops/bird", FAST, on_event=events.append)
    streamed = [e for e in events if e.HasField("preview")]
    assert streamed and streamed[0].preview.media_type == "image/png"
    out = tmp_path / "bird.png"
    assert cli(server, "pull", "ops/bird@latest", "--artifact", "preview", "-o", str(out)).returncode == 0
    img = Image.open(out)
    assert img.size == (512, 512) and img.getextrema()[3][1] == 255  # an opaque object on a transparent background
    assert out.read_bytes() == streamed[0].preview.data
    turntable = Image.open(io.BytesIO(server.client().pull("ops/bird", "latest", kind="turntable").data))
    assert turntable.n_frames == 24


def test_cli_batch_over_a_folder_is_resumable(server, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("chair.png", "teapot.png"):
        shutil.copy(IMAGES / name, folder / name)
    (folder / "broken.png").write_bytes(b"not a png")
    first = cli(server, "batch", str(folder), "--name-prefix", "batch-cli/", "--faces", "2000", "--concurrency", "2")
    assert first.returncode == 1 and "3 items, 2 ok (0 already done), 1 failed" in first.stdout, first.stdout + first.stderr
    assert "batch-cli/broken: FAILED INVALID_ARGUMENT" in first.stdout
    (folder / "broken.png").unlink()
    second = cli(server, "batch", str(folder), "--name-prefix", "batch-cli/", "--faces", "2000")
    assert second.returncode == 0 and "2 ok (2 already done)" in second.stdout, second.stdout + second.stderr
    csv = tmp_path / "list.csv"
    csv.write_text(f"image,name\n{folder / 'chair.png'},from-csv/chair\n")
    assert cli(server, "batch", str(csv), "--faces", "2000").returncode == 0


def test_cli_watch_and_cancel(server):
    with server.channel() as channel:
        call = ingest_pb2_grpc.IngestServiceStub(channel).Generate(
            ingest_pb2.GenerateRequest(asset="ops/watched", image=(IMAGES / "robot.png").read_bytes(), params=FAST))
        job_id = next(call).event.job_id
        call.cancel()
    watched = cli(server, "watch", job_id)
    assert watched.returncode == 0 and "ops/watched@1" in watched.stdout, watched.stderr
    cancel = cli(server, "cancel", job_id)  # already done: cancelling leaves it done
    assert cancel.returncode == 0 and f"job {job_id}: done" in cancel.stdout
    assert cli(server, "watch", "f" * 32).returncode == 1


@pytest.fixture
def pg_url():
    name = f"meshsmith_srv_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({err}); `make services` starts it")
    yield PG + name
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_server_on_postgresql(tmp_path, pg_url):
    s = start_server(tmp_path, "--database-url", pg_url, "--workers", "1", "--no-previews", "--log-json")
    try:
        with s.client() as client:
            v = client.generate((IMAGES / "flamingo.png").read_bytes(), "pg/flamingo", FAST)
            pulled = client.pull("pg/flamingo", "1")
            assert (v.number, pulled.version.number) == (1, 1)
            assert [x.number for x in client.history("pg/flamingo")] == [1]
        assert not (tmp_path / "registry.db").exists()  # the rows went to PostgreSQL
    finally:
        stop_server(s)
    records = [json.loads(line) for line in s.log if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r.get("job_id") == v.job_id for r in records)


def test_sigterm_drains_running_jobs(tmp_path):
    s = start_server(tmp_path, "--workers", "1", "--no-previews", "--grace", "60")
    result = {}
    started = threading.Event()

    def run():
        with grpc.insecure_channel(s.address) as channel:
            try:
                for r in ingest_pb2_grpc.IngestServiceStub(channel).Generate(
                        ingest_pb2.GenerateRequest(asset="ops/drained", image=(IMAGES / "horse.png").read_bytes(),
                                                   params=pb.GenerateParams(target_faces=20000)), timeout=120):
                    started.set()
                    result["last"] = r.event
            except grpc.RpcError as err:
                result["error"] = err
            started.set()

    t = threading.Thread(target=run)
    t.start()
    assert started.wait(60)
    s.process.send_signal(signal.SIGTERM)  # mid-job: the server stops taking work but finishes this one
    t.join(120)
    assert s.process.wait(120) == 0
    assert "last" in result, result.get("error")
    assert result["last"].HasField("version") and result["last"].version.number == 1

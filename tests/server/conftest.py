"""A real meshsmith server process on free ports, with its own SQLite file and blob dir."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg
import pytest

from meshsmith_client.client import Client
from tests.conftest import free_port

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class RunningServer:
    address: str
    http: str
    data_dir: Path
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def client(self) -> Client:
        return Client(self.address, timeout=300)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address)


def start_server(data_dir: Path, *extra: str, timeout: float = 120, env: dict | None = None,
                 cwd: Path | None = None) -> RunningServer:
    port, http_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "meshsmith_client", "serve", "--address", f"127.0.0.1:{port}",
           "--http-address", f"127.0.0.1:{http_port}", "--data-dir", str(data_dir), *extra]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    server = RunningServer(f"127.0.0.1:{port}", f"127.0.0.1:{http_port}", data_dir, proc)
    ready = threading.Event()

    def drain():  # keep reading so the server never blocks on a full pipe
        for line in proc.stderr:
            server.log.append(line)
            if "meshsmith ready" in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("server did not start:\n" + "".join(server.log[-40:]))
    return server


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("server-data"), "--workers", "2")
    yield s
    stop_server(s)


@contextmanager
def fresh_pg_database():
    """(name, SQLAlchemy URL) of a new database on the shared PostgreSQL, dropped afterwards; skip if none."""
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as e:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {e}")
    name = f"meshsmith_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_pids(server_pid: int) -> list[int]:
    """The server's spawn-started worker processes (not multiprocessing's resource tracker)."""
    pids = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    pids.append(int(child))
            except OSError:
                pass
    return sorted(pids)

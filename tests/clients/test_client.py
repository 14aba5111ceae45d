"""The Python client and CLI against a real server: pulls are verified end to end, errors are typed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys

import pytest

from meshsmith_client.client import Client, _ThreadedSha256
from meshsmith.errors import DataLoss, InvalidInput, NotFound
from registry import NewArtifact, NewVersion, Registry
from server.settings import load_settings
from tests.conftest import MESHES
from tests.server.conftest import start_server, stop_server
from validation.formats import export_glb, load_mesh
from validation.report import mesh_stats


@pytest.fixture(scope="module")
def stored(tmp_path_factory, corpus):
    """A server whose registry holds cow@1 (a real corpus mesh as GLB), written before it started."""
    data_dir = tmp_path_factory.mktemp("client-data")
    mesh = load_mesh((MESHES / "cow.obj").read_bytes(), "cow.obj")
    glb = export_glb(mesh)
    settings = load_settings({"data_dir": data_dir})
    reg = Registry(settings.db_url, settings.blob_dir)
    reg.migrate()
    source = (MESHES / "cow.obj").read_bytes()
    reg.create_version(NewVersion(
        asset="animals/cow", author="test", source_sha256=hashlib.sha256(source).hexdigest(), parameters={},
        backend="import", backend_version="0", seed=0, mode="import",
        artifacts=(NewArtifact("source", 0, source, "text/plain"), NewArtifact("glb", 0, glb, "model/gltf-binary")),
        stats=dataclasses.asdict(mesh_stats(mesh)), reports=(), repair={}))
    blob = reg.blob_path(hashlib.sha256(glb).hexdigest())
    reg.close()
    server = start_server(data_dir, "--workers", "1", "--no-previews")
    yield server, glb, blob
    stop_server(server)


@pytest.mark.parametrize("sizes", [[], [0], [1], [5, 0, 3 * 2**20, 17], [2**16] * 40])
def test_threaded_sha256_equals_hashlib(sizes):
    chunks = [os.urandom(n) for n in sizes]
    h = _ThreadedSha256()
    for c in chunks:
        h.update(c)
    assert h.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_pull_returns_the_stored_bytes(stored):
    server, glb, _ = stored
    with Client(server.address) as client:
        pulled = client.pull("animals/cow", "latest")
        assert pulled.data == glb
        assert pulled.artifact.sha256 == hashlib.sha256(glb).hexdigest() and pulled.version.number == 1
        with pytest.raises(NotFound, match="animals/horse"):
            client.pull("animals/horse")
        with pytest.raises(InvalidInput):
            client.pull("../etc/passwd")


def test_a_blob_corrupted_on_the_server_is_refused_by_the_client_and_the_cli(stored, tmp_path):
    server, glb, blob = stored
    original = blob.read_bytes()
    os.chmod(blob, 0o644)
    blob.write_bytes(original[:-4] + b"XXXX")  # same size, different bytes: only the hash can tell
    try:
        with Client(server.address) as client, pytest.raises(DataLoss, match="sha256"):
            client.pull("animals/cow", "1")
        out = tmp_path / "cow.glb"
        cli = subprocess.run([sys.executable, "-m", "meshsmith_client", "pull", "animals/cow@1", "-o", str(out),
                              "--server", server.address], capture_output=True, text=True, timeout=120)
        assert cli.returncode == 1 and "DATA_LOSS" in cli.stderr
        assert not out.exists()  # nothing half-verified lands on disk
    finally:
        blob.write_bytes(original)
    with Client(server.address) as client:
        assert client.pull("animals/cow", "1").data == glb

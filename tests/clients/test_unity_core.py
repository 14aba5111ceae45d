"""The Unity package's Unity-free core (clients/unity/com.meshsmith.client/Runtime/Core), compiled with Debian's
mono (`mcs -langversion:7.2`, Debian's Newtonsoft.Json) and run against a real --auth server over the Connect
JSON API: generate with progress, watch, history, search, pull + verify, lockfile resolve/fetch, a tampered pin
and a tampered blob refused, auth errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.blobs import BlobStore
from tests.conftest import IMAGES, ROOT
from tests.server.conftest import start_server, stop_server
from tests.server.test_auth import _create_key

PACKAGE = ROOT / "clients" / "unity" / "com.meshsmith.client"
ASSET = "unity/chair"


@pytest.fixture(scope="module")
def core_tests(tmp_path_factory) -> Path:
    """CoreTests.exe: Runtime/Core/*.cs + Tests~/Console/CoreTests.cs, exactly as `make test` builds them."""
    if shutil.which("mcs") is None or shutil.which("mono") is None:
        pytest.fail("mono is not installed: `make install` installs mono-devel and libnewtonsoft-json-cil-dev")
    out = tmp_path_factory.mktemp("unity-core") / "CoreTests.exe"
    sources = sorted(str(p) for p in (PACKAGE / "Runtime" / "Core").glob("*.cs"))
    proc = subprocess.run(["mcs", "-langversion:7.2", "-warnaserror+", f"-out:{out}", "-r:System.Net.Http.dll",
                           "-pkg:newtonsoft-json", *sources, str(PACKAGE / "Tests~" / "Console" / "CoreTests.cs")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def run(exe: Path, *args: str) -> dict:
    proc = subprocess.run(["mono", str(exe), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("unity-data")
    keys = {role: _create_key(data, role) for role in ("reader", "admin")}
    s = start_server(data, "--auth", "--workers", "1", "--no-previews")
    yield s, keys
    stop_server(s)


def test_core_compiles_without_unityengine():
    sources = "\n".join(p.read_text() for p in (PACKAGE / "Runtime" / "Core").glob("*.cs"))
    assert not re.search(r"^\s*using\s+Unity", sources, re.M)  # and mcs compiles it without any Unity assembly
    asmdef = json.loads((PACKAGE / "Runtime" / "Core" / "Meshsmith.Client.Core.asmdef").read_text())
    assert asmdef["noEngineReferences"] is True


def test_core_against_a_live_server(core_tests, secured, tmp_path):
    s, keys = secured
    base = f"http://{s.http}"
    out = run(core_tests, "main", base, keys["admin"], keys["reader"], str(IMAGES / "chair.png"), str(tmp_path), ASSET)
    assert out["noKey"]["code"] == "unauthenticated" and "API key" in out["noKey"]["message"]
    assert out["readerGenerate"]["code"] == "permission_denied" and "creator role" in out["readerGenerate"]["message"]
    assert out["stages"][0] == "queued" and out["stages"][-1] == "done" and "reconstruct" in out["stages"]
    assert out["version"] == 1 and out["history"] == [1] and ASSET in out["search"] and out["watched"] >= 3
    assert out["historyFaces"] > 0 and out["historyAuthor"].startswith("key:")
    assert out["pulled"]["sha256"] == out["pulled"]["artifactSha256"] and out["lods"] >= 1
    doc = json.loads(Path(out["lockfile"]).read_text())  # the document `meshsmith lock` writes
    assert doc["lockfileVersion"] == 1 and doc["assets"][ASSET]["sha256"] == out["pulled"]["sha256"]
    assert "exp=" in doc["assets"][ASSET]["url"]  # signed under --auth
    assert Path(out["fetched"][0]).read_bytes()[:4] == b"glTF"
    assert out["lodManifest"][0] == ASSET and len(out["lodManifest"]) == len(doc["assets"])
    assert out["tamperedPin"]["integrity"] and "refusing" in out["tamperedPin"]["message"] and not out["tamperedPinWrote"]
    assert out["badRequest"]["code"] == "invalid_argument" and "pageSizes" in out["badRequest"]["message"]

    # a blob altered on the server's disk: the client refuses what it is served and writes nothing
    blob = BlobStore(s.data_dir / "blobs").path(doc["assets"][ASSET]["sha256"])
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(raw))
    bad = run(core_tests, "tampered", base, keys["reader"], out["lockfile"], str(tmp_path / "fresh"), ASSET)
    assert bad["fetch"]["integrity"] and doc["assets"][ASSET]["sha256"] in bad["fetch"]["message"] and not bad["wrote"]
    assert bad["pull"]["integrity"] and "refusing" in bad["pull"]["message"]  # the PullArtifact stream, verified too

"""The generated code is fresh and the API passes buf lint (STANDARD)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

GENERATED = ROOT / "meshsmith" / "v1"
# What a patch release of grpcio-tools / protobuf writes into otherwise identical code: the generator's version
# (a minimum the runtime is checked against at import). Freshness is about the API, so these compare equal.
GENERATOR_VERSIONS = (
    (re.compile(rb"GRPC_GENERATED_VERSION = '[^']*'"), b"GRPC_GENERATED_VERSION = '*'"),
    (re.compile(rb"# Protobuf Python Version: \S+"), b"# Protobuf Python Version: *"),
    (re.compile(rb"(_runtime_version\.Domain\.PUBLIC,\s*)\d+,\s*\d+,\s*\d+,"), rb"\1*, *, *,"),
)


def api_bytes(code: bytes) -> bytes:
    """Generated code with the generator's version numbers masked."""
    for pattern, mask in GENERATOR_VERSIONS:
        code = pattern.sub(mask, code)
    return code


def test_generated_code_is_fresh(tmp_path: Path):
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iproto", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}",
         f"--grpc_python_out={tmp_path}", *[f"proto/{p}" for p in protos]],
        cwd=ROOT, check=True,
    )
    fresh = {p.relative_to(tmp_path / "meshsmith" / "v1"): api_bytes(p.read_bytes())
             for p in (tmp_path / "meshsmith" / "v1").glob("*.py*")}
    committed = {p.relative_to(GENERATED): api_bytes(p.read_bytes())
                 for p in GENERATED.glob("*.py*") if p.name != "__init__.py"}
    assert fresh.keys() == committed.keys(), "generated files differ from proto/: run `make proto`"
    stale = [str(name) for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated code {stale}: run `make proto`"


def test_freshness_ignores_only_the_generator_version():
    """A patch release of the generator compares equal; a changed field does not."""
    code = (GENERATED / "jobs_pb2_grpc.py").read_bytes()
    bumped = re.sub(rb"GRPC_GENERATED_VERSION = '[^']*'", b"GRPC_GENERATED_VERSION = '1.85.99'", code)
    assert bumped != code and api_bytes(bumped) == api_bytes(code)
    pb2 = (GENERATED / "types_pb2.py").read_bytes()
    bumped = re.sub(rb"(Domain\.PUBLIC,\s*)7,\s*\d+,\s*\d+,", rb"\g<1>7,\n    99,\n    9,", pb2)
    assert bumped != pb2 and api_bytes(bumped) == api_bytes(pb2)
    assert api_bytes(pb2.replace(b"target_height_m", b"target_height_x")) != api_bytes(pb2)


def test_buf_lint_standard():
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists() or shutil.which("node") is None:
        pytest.fail("buf is not installed: run `make install` (npm ci)")
    proc = subprocess.run([str(buf), "lint"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

"""The generated code is fresh and the API passes buf lint (STANDARD)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

GENERATED = ROOT / "meshsmith" / "v1"


def test_generated_code_is_fresh(tmp_path: Path):
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iproto", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}",
         f"--grpc_python_out={tmp_path}", *[f"proto/{p}" for p in protos]],
        cwd=ROOT, check=True,
    )
    fresh = {p.relative_to(tmp_path / "meshsmith" / "v1"): p.read_bytes() for p in (tmp_path / "meshsmith" / "v1").glob("*.py*")}
    committed = {p.relative_to(GENERATED): p.read_bytes() for p in GENERATED.glob("*.py*") if p.name != "__init__.py"}
    assert fresh.keys() == committed.keys(), "generated files differ from proto/: run `make proto`"
    stale = [str(name) for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated code {stale}: run `make proto`"


def test_buf_lint_standard():
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists() or shutil.which("node") is None:
        pytest.fail("buf is not installed: run `make install` (npm ci)")
    proc = subprocess.run([str(buf), "lint"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

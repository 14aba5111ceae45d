"""Khronos glTF-Validator (npm `gltf-validator`) run in a warm Node subprocess."""

from __future__ import annotations

import json
import select
import shutil
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = Path(__file__).with_name("gltf_validate.js")


@dataclass(frozen=True)
class GltfMessage:
    code: str
    severity: int  # 0 error, 1 warning, 2 info, 3 hint
    message: str
    pointer: str


@dataclass(frozen=True)
class GltfReport:
    errors: int
    warnings: int
    messages: tuple[GltfMessage, ...]
    info: dict


def find_node_modules(start: Path = _SCRIPT) -> Path | None:
    """The nearest node_modules holding gltf-validator, walking up from `start`."""
    for parent in start.resolve().parents:
        if (parent / "node_modules" / "gltf-validator").is_dir():
            return parent / "node_modules"
    return None


def available() -> bool:
    return shutil.which("node") is not None and find_node_modules() is not None


class _Session:
    """One warm `gltf_validate.js` process: GLBs in as length-prefixed frames, JSON reports out by line."""

    def __init__(self, node: str, modules: Path):
        self.proc = subprocess.Popen(
            [node, str(_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"},
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def ask(self, glb: bytes, timeout_s: float) -> bytes:
        self.proc.stdin.write(struct.pack("<I", len(glb)) + glb)
        self.proc.stdin.flush()
        out = self.proc.stdout
        if not select.select([out], [], [], timeout_s)[0]:
            raise TimeoutError(f"glTF-Validator gave no report within {timeout_s:.0f} s")
        line = out.readline()
        if not line:
            raise RuntimeError("glTF-Validator exited without a report")
        return line


_session: _Session | None = None
_lock = threading.Lock()  # one request at a time on the shared pipe


def _ask(glb: bytes, node: str, modules: Path, timeout_s: float) -> bytes:
    """The report for one GLB from the warm session, started (or restarted after a failure) as needed."""
    global _session
    with _lock:
        if _session is None or not _session.alive():
            _session = _Session(node, modules)
        try:
            return _session.ask(glb, timeout_s)
        except Exception:
            _session.close()
            _session = None
            raise


def validate_glb(glb: bytes, timeout_s: float = 60.0) -> GltfReport | None:
    """Validate GLB bytes; None when Node or gltf-validator is not installed.

    Runs in a warm Node process kept for this Python process (workers validate many GLBs).
    """
    modules = find_node_modules()
    node = shutil.which("node")
    if modules is None or node is None:
        return None
    raw = json.loads(_ask(glb, node, modules, timeout_s))
    if "fatal" in raw or "issues" not in raw:
        return GltfReport(1, 0, (GltfMessage("VALIDATOR_FAILED", 0, raw.get("fatal", "no report"), ""),), {})
    issues = raw["issues"]
    messages = tuple(
        GltfMessage(m.get("code", ""), int(m.get("severity", 0)), m.get("message", ""), m.get("pointer", ""))
        for m in issues.get("messages", [])
    )
    return GltfReport(int(issues["numErrors"]), int(issues["numWarnings"]), messages, raw.get("info", {}))

"""Khronos glTF-Validator (npm `gltf-validator`) run in a Node subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
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


def validate_glb(glb: bytes, timeout_s: float = 60.0) -> GltfReport | None:
    """Validate GLB bytes; None when Node or gltf-validator is not installed."""
    modules = find_node_modules()
    node = shutil.which("node")
    if modules is None or node is None:
        return None
    proc = subprocess.run(
        [node, str(_SCRIPT)],
        input=glb,
        capture_output=True,
        timeout=timeout_s,
        env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    raw = json.loads(proc.stdout or b"{}")
    if "fatal" in raw or "issues" not in raw:
        msg = raw.get("fatal", proc.stderr.decode(errors="replace")[-500:])
        return GltfReport(1, 0, (GltfMessage("VALIDATOR_FAILED", 0, msg, ""),), {})
    issues = raw["issues"]
    messages = tuple(
        GltfMessage(m.get("code", ""), int(m.get("severity", 0)), m.get("message", ""), m.get("pointer", ""))
        for m in issues.get("messages", [])
    )
    return GltfReport(int(issues["numErrors"]), int(issues["numWarnings"]), messages, raw.get("info", {}))

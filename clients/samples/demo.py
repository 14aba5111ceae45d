"""`make demo`: start the server on the embedded default, generate the sample pawn, pull it back, stop.

Uses only the CLI, exactly as a user would.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = str(ROOT / ".venv" / "bin" / "meshsmith")
SAMPLE = ROOT / "clients" / "samples" / "pawn.png"
OUT = ROOT / ".meshsmith-data" / "demo" / "pawn.glb"


def wait_ready(server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for line in server.stderr:
        sys.stderr.write("  server | " + line)
        if "meshsmith ready" in line:
            return
        if time.monotonic() > deadline:
            break
    raise SystemExit(f"server did not become ready (exit code {server.poll()})")


def run(*args: str) -> None:
    print("$ meshsmith " + " ".join(args), flush=True)
    subprocess.run([CLI, *args], check=True, cwd=ROOT)


def main() -> int:
    server = subprocess.Popen([CLI, "serve"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(server)
        run("generate", str(SAMPLE.relative_to(ROOT)), "--name", "demo/pawn", "--mode", "revolve", "--height", "0.06")
        run("pull", "demo/pawn@latest", "-o", str(OUT.relative_to(ROOT)))
        run("history", "demo/pawn")
        print(f"\nThe GLB is at {OUT} — open it in Blender, a glTF viewer or Unity (glTFast).")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

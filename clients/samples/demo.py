"""`make demo`: start the server on the embedded default, generate the sample pawn, pull it back, stop.

Uses only the CLI, exactly as a user would, and says how long each phase took.
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
HTTP = "http://127.0.0.1:8080"


def phase(name: str, started: float) -> None:
    print(f"== {name}: {time.monotonic() - started:.1f} s", flush=True)


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
    t = time.monotonic()
    server = subprocess.Popen([CLI, "serve"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(server)
        phase("server start (SQLite registry + blobs in .meshsmith-data, 2 warm workers)", t)
        t = time.monotonic()
        run("generate", str(SAMPLE.relative_to(ROOT)), "--name", "demo/pawn", "--mode", "revolve", "--height", "0.06")
        phase("generate (reconstruct, repair, decimate, LODs, checks, previews, store version)", t)
        t = time.monotonic()
        run("pull", "demo/pawn@latest", "-o", str(OUT.relative_to(ROOT)))
        run("history", "demo/pawn")
        phase("pull + history", t)
    finally:
        t = time.monotonic()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for line in server.stderr:
            sys.stderr.write("  server | " + line)
        phase(f"server stopped (exit code {server.returncode})", t)
    print(f"""
The GLB is at {OUT} — open it in Blender, a glTF viewer or Unity (glTFast).

Next:
  .venv/bin/meshsmith serve                  # keep the server running (Ctrl-C stops it)
  open {HTTP}/ui/        # the web app: browse demo/pawn, its history, generate from your own photos
  .venv/bin/meshsmith generate PHOTO.jpg --name props/thing --height 0.3   # your own picture, 30 cm tall
  make test                                  # the whole suite (adds torch, Chromium, PrusaSlicer, mono)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Big import (issue 11 item 8): a 1.1M-triangle scan imported to 50k triangles, against gltfpack on the same mesh.

Run from the repository root:  .venv/bin/python benchmarks/big_import.py
The corpus bunny subdivided twice (1,111,216 triangles), as binary PLY; import_mesh in-process (load, decimate,
repair, validate, LODs, previews), once decimating before repair (today) and once repairing the full-resolution
mesh first (before; BIG_IMPORT_RATIO out of reach). Prints total seconds, the ratio to gltfpack (npm, -si) and
the per-stage times in ms.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import server.pipeline as P  # noqa: E402
from tests.conftest import MESHES  # noqa: E402
from validation.decimate import DecimateParams  # noqa: E402
from validation.formats import export_glb  # noqa: E402


def main() -> None:
    mesh = trimesh.load(MESHES / "stanford-bunny.obj", process=False).subdivide().subdivide()
    ply = trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=False)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.glb", Path(tmp) / "out.glb"
        src.write_bytes(export_glb(mesh))
        start = time.perf_counter()
        subprocess.run(["node_modules/.bin/gltfpack", "-i", str(src), "-o", str(dst), "-si", str(50_000 / len(mesh.faces))],
                       check=True, capture_output=True)
        gltfpack = time.perf_counter() - start
    for label, ratio in (("decimate, then repair", P.BIG_IMPORT_RATIO), ("repair, then decimate (before)", 10**12)):
        P.BIG_IMPORT_RATIO = ratio
        start = time.perf_counter()
        out = P.import_mesh(P.ImportJob(mesh=ply, filename="big.ply", decimate=DecimateParams(target_faces=50_000)),
                            lambda *a: None)
        took = time.perf_counter() - start
        print(f"{label}: {len(mesh.faces)} -> {out.stats['faces']} faces, {took:.2f} s, gltfpack {gltfpack:.2f} s, "
              f"x{took / gltfpack:.2f}; stages (ms) {out.timings_ms}")


if __name__ == "__main__":
    main()

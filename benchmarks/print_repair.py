"""Print repair (issue 11 item 4): crossing faces before/after, Hausdorff both ways, time.

Run from the repository root:  .venv/bin/python benchmarks/print_repair.py
Prints a Markdown table. Crossings are PyMeshLab's per-face self-intersection count; distances are Hausdorff
maxima as shares of the bbox diagonal: repair -> source (PyMeshLab, 100k samples + vertices) and source ->
repair over the source's visible surface (samples buried inside the repaired solid left out). Each mesh twice:
the exact union (mesh arrangement, then the local remesh for what rounding leaves) and, as the baseline, the
local marching-cubes remesh alone (IntersectParams(exact=False), the earlier method).
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path
from unittest import mock

import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MESHES  # noqa: E402
from tests.validation.defects import folded_scan  # noqa: E402
from tests.validation.test_print_repair import crossings, moved  # noqa: E402
from validation import intersect  # noqa: E402
from validation.repair import RepairParams, repair  # noqa: E402
from validation.report import validate  # noqa: E402


def main() -> None:
    cow = trimesh.load(MESHES / "cow.obj", process=False)
    cow.apply_scale(0.01)  # read as centimetres: a 10 cm cow that fits the fdm bed
    print("| mesh | method | faces | crossing faces | after | faces after | repair -> source "
          "| source (visible) -> repair | fdm | time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, mesh in (("corpus cow (cm)", cow), ("folded scan", folded_scan())):
        for method, exact in (("exact union", True), ("local remesh only", False)):
            resolve = partial(intersect.resolve, params=intersect.IntersectParams(exact=exact))
            start = time.perf_counter()
            with mock.patch.object(intersect, "resolve", resolve):
                out, _ = repair(mesh, RepairParams(printable=True))
            seconds = time.perf_counter() - start
            forward, back = moved(mesh, out)
            print(f"| {name} | {method} | {len(mesh.faces)} | {crossings(mesh)} | {crossings(out)} | {len(out.faces)} | "
                  f"{forward:.3%} | {back:.3%} | {validate(out, 'fdm').verdict} | {seconds:.1f} s |", flush=True)


if __name__ == "__main__":
    main()

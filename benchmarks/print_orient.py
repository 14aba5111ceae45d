"""`--orient auto` (issue 11): support-needing overhang area of each corpus mesh at 100 mm, per candidate set.

Run from the repository root:  .venv/bin/python benchmarks/print_orient.py
Prints a Markdown table (mm^2, lower is better): as stored (Z up, no turning: the no-information baseline,
stable or not), the best of the six axis poses that rest stably, auto with the hull planes and axes only
(random=0) and auto with the seeded random candidates (the default), and the time of the last.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MESHES  # noqa: E402
from validation import formats  # noqa: E402
from validation.print_export import _overhang, auto_orient, rests  # noqa: E402


def main() -> None:
    print("| mesh | faces | as stored | best stable axis pose | auto, planes + axes | auto, + random | time |")
    print("|---|---|---|---|---|---|---|")
    for path in sorted([*MESHES.glob("*.obj"), *MESHES.glob("*.ply"), *MESHES.glob("*/*.obj")]):
        mesh = trimesh.load(path, force="mesh", process=False)
        mesh.apply_scale(0.1 / mesh.extents.max())  # 100 mm
        b = formats.print_frame(mesh)
        hull = b.convex_hull
        com = b.center_mass if b.is_volume else hull.center_mass
        stable = [_overhang(b, d)[0] for d in np.vstack([np.eye(3), -np.eye(3)]) if rests(hull, com, d)]
        plain = auto_orient(b, random=0)[1]
        start = time.perf_counter()
        over = auto_orient(b)[1]
        seconds = time.perf_counter() - start
        axis = f"{min(stable):.0f}" if stable else "none stable"
        print(f"| {path.name} | {len(b.faces)} | {_overhang(b, np.array([0.0, 0.0, -1.0]))[0]:.0f} | {axis} | "
              f"{plain:.0f} | {over:.0f} | {seconds:.2f} s |", flush=True)


if __name__ == "__main__":
    main()

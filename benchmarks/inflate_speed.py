"""Same-run A/B of the inflate stage: this checkout's reconstruct/ against another checkout's.

Each corpus picture is segmented once, then reconstructed with mode inflate by the old and the new code,
alternating, `--reps` times; prints the median of each and their ratio (noise on a shared machine: compare
only the ratio of one run).

Run:  .venv/bin/python benchmarks/inflate_speed.py --base DIR   (DIR: e.g. `git worktree add --detach DIR REV`)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from shape import load_pipeline  # noqa: E402

from reconstruct.image import decode_image  # noqa: E402
from tests.conftest import IMAGES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="checkout whose reconstruct/ is 'before'")
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args(argv)
    segment, new, params_new = load_pipeline(None)
    _, old, params_old = load_pipeline(args.base.resolve())
    before, after = [], []
    for path in sorted(IMAGES.iterdir()):
        try:
            seg = segment(decode_image(path.read_bytes()))
        except Exception:  # noqa: BLE001 - pictures the pipeline rejects are not timed
            continue
        for _ in range(args.reps):
            t = time.perf_counter()
            old(seg, params_old(mode="inflate"))
            before.append(time.perf_counter() - t)
            t = time.perf_counter()
            new(seg, params_new(mode="inflate"))
            after.append(time.perf_counter() - t)
    a, b = statistics.median(before), statistics.median(after)
    print(f"inflate stage, {len(before)} runs: median before {a * 1000:.0f} ms, after {b * 1000:.0f} ms, "
          f"ratio {b / a:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

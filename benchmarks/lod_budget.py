"""LOD face budgets: corpus pictures through the worker pipeline in-process, target vs actual faces per LOD.

Each picture is generated with GenerateParams(target_faces=N, lod_ratios=[1, 0.5, 0.25, 0.1]) (no previews);
a level's target is its ratio x LOD0's faces, as build_lods asks. A level over 1.1 x its target is flagged.
Run: .venv/bin/python benchmarks/lod_budget.py [--faces 1500 5000] [--images chair.png ...]
A/B against another checkout (same images, same run; the base runs in a subprocess on its own code):
    git worktree add --detach /tmp/lod-base a5a7b29
    .venv/bin/python benchmarks/lod_budget.py --base /tmp/lod-base
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
IMAGES = HERE.parent / "shared" / "corpus" / "images"
RATIOS = [1.0, 0.5, 0.25, 0.1]
DEFAULT_IMAGES = ["chair.png", "chair_armed.png", "pikachu.png", "teapot.png", "cartoon_panda.png", "hamburger.png"]


def measure(code: Path, images: list[str], faces: list[int]) -> list[dict]:
    """One row per (image, target): LOD0 faces and each level's actual faces (code: the checkout to import)."""
    sys.path.insert(0, str(code))
    import trimesh  # noqa: PLC0415

    from meshsmith.v1 import types_pb2 as pb  # noqa: PLC0415
    from server import convert  # noqa: PLC0415
    from server.pipeline import GenerateJob, generate  # noqa: PLC0415

    rows = []
    for name in images:
        data = (IMAGES / name).read_bytes()
        for n in faces:
            rec, dec, profiles, lods = convert.generate_params(pb.GenerateParams(target_faces=n, lod_ratios=RATIOS), n)
            out = generate(GenerateJob(image=data, reconstruct=rec, decimate=dec, profiles=profiles, lod_ratios=lods,
                                       previews=False), lambda *e: None)
            counts = [len(next(iter(trimesh.load(io.BytesIO(g), file_type="glb").geometry.values())).faces)
                      for g in (out.glb, *out.lods)]
            rows.append({"image": name, "target": n, "faces": counts})
    return rows


def table(label: str, rows: list[dict]) -> list[str]:
    head = " | ".join(f"LOD{i} ({r:g})" for i, r in enumerate(RATIOS))
    lines = [f"{label}:", f"| image | target | {head} | levels over 1.1x |", "|---|---|" + "---|" * (len(RATIOS) + 1)]
    for row in rows:
        lod0 = row["faces"][0]
        cells, over = [], 0
        for r, got in zip(RATIOS, row["faces"]):
            want = max(4, round(lod0 * r)) if r < 1 else row["target"]
            bad = got > 1.1 * want
            over += bad and r < 1
            cells.append(f"{got} / {want}" + (" **over**" if bad else ""))
        lines.append(f"| {row['image']} | {row['target']} | " + " | ".join(cells) + f" | {over} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, help="another checkout to measure in the same run (e.g. a5a7b29)")
    ap.add_argument("--faces", type=int, nargs="+", default=[1500, 5000])
    ap.add_argument("--images", nargs="+", default=DEFAULT_IMAGES)
    ap.add_argument("--json-for", type=Path, help=argparse.SUPPRESS)  # internal: measure this checkout, print JSON
    args = ap.parse_args(argv)
    if args.json_for:
        print(json.dumps(measure(args.json_for, args.images, args.faces)))
        return 0
    base = None
    if args.base:
        cmd = [sys.executable, __file__, "--json-for", str(args.base.resolve()), "--faces", *map(str, args.faces),
               "--images", *args.images]
        base = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=args.base).stdout
                          .strip().splitlines()[-1])
    rows = measure(HERE, args.images, args.faces)
    print("cells: actual / target faces (LOD0's target is target_faces; level k's is ratio x LOD0's faces)")
    if base is not None:
        print("\n".join(table(f"base {args.base}", base)))
    print("\n".join(table("this checkout", rows)))
    worst = max((r["faces"][i] / max(4, round(r["faces"][0] * q)) for r in rows for i, q in enumerate(RATIOS) if q < 1))
    print(f"worst level actual/target: {worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

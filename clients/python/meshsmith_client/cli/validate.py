"""`meshsmith validate FILE`: check a mesh locally against a profile, no server needed.

Exit status: 0 pass (warnings included), 1 a check failed, 2 the file could not be used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register the `validate` subcommand on an argparse subparsers object."""
    from validation.profiles import PROFILES  # noqa: PLC0415  (keep `meshsmith --help` fast)

    p = subparsers.add_parser(
        "validate",
        help="validate a mesh file locally (no server)",
        description="Validate a mesh (GLB, glTF, OBJ, STL, 3MF, PLY, OFF) against a profile. "
        "Exit 0 pass (warnings included), 1 fail, 2 unreadable input. Units and up axis default to the "
        "format's convention (STL/3MF: mm, Z up; OBJ/PLY/OFF/glTF: m, Y up); print checks measure in mm, Z up.",
    )
    p.add_argument("file", type=Path, help="mesh file")
    p.add_argument("--units", choices=("mm", "cm", "m", "in"), help="units of the file's coordinates (default: the format's)")
    p.add_argument("--up", choices=("y", "z"), help="up axis of the file (default: the format's)")
    p.add_argument("--profile", default="default", choices=list(PROFILES), help="validation profile (default: default)")
    p.add_argument("--repair", action="store_true", help="repair before validating (print profiles: make it watertight)")
    p.add_argument("--printable", action="store_true", help="with --repair: print repair (resolve self-intersections, "
                   "close every hole, drop slivers, inner shells and voids); implies --repair")
    p.add_argument("--solidify", type=float, metavar="MM", default=0.0,
                   help="give a flat or zero-thickness model walls this thick (millimetres); implies --printable")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the (repaired) mesh to FILE; the format comes from its extension, in that format's "
                        "convention: .stl/.3mf/.obj millimetres, Z up (for slicers), .glb/.ply metres, Y up")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report to FILE")
    p.set_defaults(func=run)


# -o FILE: the extension picks the exporter (validation/formats.py) and with it the file's convention
OUTPUT_FRAMES = {".stl": "millimetres, Z up", ".3mf": "millimetres, Z up", ".obj": "millimetres, Z up",
                 ".glb": "metres, Y up", ".ply": "metres, Y up"}


def _write_mesh(path: Path, mesh) -> None:
    """`mesh` (scene frame: metres, +Y up) written to `path` in the convention of its extension, atomically."""
    from meshsmith.errors import InvalidInput  # noqa: PLC0415
    from meshsmith_client.files import write_atomic  # noqa: PLC0415
    from validation.formats import EXPORTERS  # noqa: PLC0415

    ext = path.suffix.lower()
    if ext not in OUTPUT_FRAMES:
        raise InvalidInput(f"-o {path}: cannot tell the format from {ext or 'no extension'!r}; "
                           f"use one of {', '.join(OUTPUT_FRAMES)}")
    if mesh is not None:
        write_atomic(path, EXPORTERS[ext[1:]](mesh))


def _table(path: Path, report, log, frame) -> str:
    lines = [f"{path.name}: profile {report.profile}: {report.verdict.upper()}", f"  {frame.describe()}"]
    s = report.stats
    size = [hi - lo for lo, hi in zip(s.bbox_min, s.bbox_max)]
    lines.append(
        f"  {s.faces:,} faces, {s.vertices:,} vertices, {s.bodies} bodies, "
        f"{' x '.join(f'{x:.4g}' for x in size)} m, volume {s.volume_m3:.4g} m3"
    )
    if log is not None:
        lines.append(
            f"  repair: parts {log.parts_before}->{log.parts_after}, open edges {log.open_edges_before}->"
            f"{log.open_edges_after}, {log.faces_added} faces added, {log.faces_removed} removed, "
            f"{log.faces_reversed} reversed, {log.holes_closed} holes closed"
        )
        lines.extend(f"    {note}" for note in log.notes)
    width = max(len(c.id) for c in report.checks)
    lines.append(f"  {'LEVEL':5}  {'CHECK':{width}}  {'VALUE':>12}  {'LIMIT':>10}  MESSAGE")
    for c in report.checks:
        lines.append(f"  {c.level:5}  {c.id:{width}}  {c.value:>12.5g}  {c.threshold:>10.5g}  {c.unit}: {c.message}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate `args.file`; returns the exit status."""
    from meshsmith.errors import MeshsmithError  # noqa: PLC0415
    from validation import junit, repair, report, units  # noqa: PLC0415

    try:
        if args.output is not None:
            _write_mesh(args.output, None)  # an unknown extension fails before any work
        data = args.file.read_bytes()
        mesh, frame = units.load_scene(data, args.file.name, args.units, args.up)
        log = None
        if args.repair or args.printable or args.solidify > 0:
            printing = report.PROFILES[args.profile].printer is not None
            mesh, log = repair.repair(mesh, repair.RepairParams(watertight=printing, printable=args.printable,
                                                                solidify_m=args.solidify / 1000.0))
        glb = data if args.file.suffix.lower() == ".glb" and log is None else None
        rep = report.validate(mesh, args.profile, glb=glb)
        if args.junit:
            args.junit.write_text(junit.to_junit(rep, name=f"meshsmith.{args.file.name}"))
        if args.output is not None:
            _write_mesh(args.output, mesh)
    except (OSError, MeshsmithError) as exc:
        print(f"meshsmith validate: {args.file}: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2
    if args.json:
        out = {"file": str(args.file), "frame": {**dataclasses.asdict(frame), "description": frame.describe()},
               "report": dataclasses.asdict(rep),
               "repair": dataclasses.asdict(log) if log is not None else None,
               "output": str(args.output) if args.output is not None else None}
        print(json.dumps(out, indent=2))
    else:
        print(_table(args.file, rep, log, frame))
        if args.output is not None:
            print(f"  wrote {args.output} ({OUTPUT_FRAMES[args.output.suffix.lower()]})")
    return 1 if rep.verdict == "fail" else 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m meshsmith_client.cli.validate FILE ...`)."""
    parser = argparse.ArgumentParser(prog="meshsmith")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validate", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""meshsmith's print checks against Blender 3.4's 3D-Print Toolbox (issue 11 item 7).

Run from the repository root:  .venv/bin/python benchmarks/print_checks.py
Needs Debian's `blender` (3.4, run headless with -b). The same file is Blender's side: the script re-runs itself
as `blender -b --python benchmarks/print_checks.py -- IN.json OUT.json`.

Inputs: the corpus meshes (OBJ/PLY, read in their convention: metres, +Y up) plus defect meshes made here with
trimesh (written as OBJ in metres, +Y up). Both sides measure in the print frame: millimetres, +Z up (Blender:
the OBJ importer's Y-up conversion, PLY turned +90 deg about X, then scaled by 1000 into the mesh data) with
meshsmith's fdm thresholds (0.8 mm walls, 45 deg overhang). Writes benchmarks/results/print_checks.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

try:  # inside Blender
    import bpy
except ImportError:
    bpy = None


# ----------------------------------------------------------------------------------------------- Blender side
def blender_main(src: str, dst: str) -> None:
    import math

    import addon_utils
    import bmesh
    import bpy
    from mathutils import Matrix

    addon_utils.enable("object_print3d_utils")
    from object_print3d_utils import operators as ops

    scene = bpy.context.scene
    p3d = scene.print_3d
    p3d.thickness_min = 0.8  # mesh data is in mm (the add-on's default, 0.001, is 1 mm in metres)
    p3d.angle_overhang = math.radians(45.0)
    out = {}
    for name, path in json.loads(Path(src).read_text()).items():
        for o in list(bpy.data.objects):
            bpy.data.objects.remove(o, do_unlink=True)
        if path.endswith(".ply"):
            bpy.ops.import_mesh.ply(filepath=path)
            turn = Matrix.Rotation(math.radians(90.0), 4, "X")  # +Y up -> +Z up: (x, y, z) -> (x, -z, y)
        else:
            bpy.ops.wm.obj_import(filepath=path, forward_axis="NEGATIVE_Z", up_axis="Y")
            turn = Matrix.Identity(4)  # the importer's axis conversion does it
        objs = [o for o in bpy.data.objects if o.type == "MESH"]
        for o in objs:
            o.data.transform(Matrix.Scale(1000.0, 4) @ turn @ o.matrix_world)
            o.matrix_world = Matrix.Identity(4)
        bpy.context.view_layer.objects.active = objs[0]
        if len(objs) > 1:
            for o in objs:
                o.select_set(True)
            bpy.ops.object.join()
        obj = bpy.context.view_layer.objects.active
        bm = bmesh.new()
        bm.from_mesh(obj.data)
        areas = [f.calc_area() for f in bm.faces]
        total = sum(areas) or 1.0
        bm.free()
        row = {"faces": len(areas)}
        for key, cls in (("solid", ops.MESH_OT_print3d_check_solid), ("intersect", ops.MESH_OT_print3d_check_intersections),
                         ("degenerate", ops.MESH_OT_print3d_check_degenerate), ("thick", ops.MESH_OT_print3d_check_thick),
                         ("overhang", ops.MESH_OT_print3d_check_overhang)):
            info = []
            cls.main_check(obj, info)
            for text, data in info:  # ("Non Manifold Edges: 4", (BMEdge, indices)), as the add-on's report holds
                idx = list(data[1]) if data else []
                label = text.split(":")[0]
                row[label] = len(idx)
                if data and data[0] is bmesh.types.BMFace:
                    row[label + " area"] = sum(areas[i] for i in idx) / total
        # the thickness check again with the mesh data in metres (the add-on's own default unit): its fixed
        # 1e-4 ray start offset is then far above float32 resolution
        obj.data.transform(Matrix.Scale(0.001, 4))
        p3d.thickness_min = 0.0008
        info = []
        ops.MESH_OT_print3d_check_thick.main_check(obj, info)
        idx = list(info[0][1][1])
        row["Thin Faces m"], row["Thin Faces m area"] = len(idx), sum(areas[i] for i in idx) / total
        p3d.thickness_min = 0.8
        out[name] = row
        print(name, row, flush=True)
    Path(dst).write_text(json.dumps(out))


# ---------------------------------------------------------------------------------------------- meshsmith side
def defects(tmp) -> dict:
    """Defect meshes made in mm, +Z up, written as OBJ in metres, +Y up (the OBJ convention)."""
    import numpy as np
    import trimesh

    from validation.units import Z_TO_Y

    def cube(size=20.0, at=(0, 0, 0)):
        return trimesh.creation.box(extents=(size, size, size)).apply_translation(np.add(at, size / 2))

    holed = cube()
    holed = trimesh.Trimesh(holed.vertices, holed.faces[2:], process=False)  # one square side gone
    flipped = cube()
    f = flipped.faces.copy()
    f[:2] = f[:2, ::-1]  # one side's two triangles wound backwards
    flipped = trimesh.Trimesh(flipped.vertices, f, process=False)
    crossing = trimesh.util.concatenate([cube(), cube(at=(6.3, 4.1, 8.7))])  # two shells crossing (off the diagonals)
    tube = trimesh.creation.revolve([[10.0, 0], [10.4, 0], [10.4, 20], [10.0, 20], [10.0, 0]], sections=64)  # 0.4 mm wall
    mushroom = trimesh.creation.revolve([[0, 0], [3, 0], [3, 10], [10, 10], [10, 13], [0, 13]], sections=64)
    made = {"cube with a hole": holed, "cube, 2 faces flipped": flipped, "two intersecting cubes": crossing,
            "tube, 0.4 mm wall": tube, "mushroom overhang": mushroom}
    paths = {}
    for i, (name, m) in enumerate(made.items()):
        m = m.copy()
        m.apply_transform(Z_TO_Y)
        m.apply_scale(0.001)
        path = tmp / f"defect{i}.obj"
        path.write_text(trimesh.exchange.obj.export_obj(m, include_normals=False, include_texture=False, header=None))
        paths[name] = str(path)
    return paths


def meshsmith_row(path: str) -> dict:
    import numpy as np

    from validation import printing, topology
    from validation.formats import print_frame
    from validation.profiles import FDM
    from validation.report import validate
    from validation.units import load_scene

    mesh, _ = load_scene(Path(path).read_bytes(), path)
    topo = topology.measure(mesh)
    rep = validate(mesh, "fdm")
    by = {c.id: c for c in rep.checks}
    mm = print_frame(topology.merged(mesh))
    if rep.stats.volume_m3 < 0:
        mm.invert()
    dist, weights, _ = printing.wall_samples(mm)
    down = -mm.face_normals[:, 2] > np.cos(np.radians(FDM.overhang_deg))
    on_bed = mm.triangles[:, :, 2].max(axis=1) <= mm.bounds[0, 2] + 0.2
    return {
        "faces": len(mesh.faces), "open": topo.boundary_edges, "nonmanifold": topo.nonmanifold_edges,
        "winding": topo.inconsistent_edges, "crossing": int(by["self_intersections"].value),
        "degenerate": topo.degenerate_faces, "wall": by["thickness.min"].value, "wall_level": by["thickness.min"].level,
        "thin": float(weights[dist < FDM.min_wall_mm].sum() / max(weights.sum(), 1e-12)),
        "over_faces": int((down & ~on_bed).sum()), "over": by["overhang.share"].value / 100,
        "over_bed": int(down.sum()), "verdict": rep.verdict,
        "extent_mm": float(np.max(mm.extents)),
    }


def main() -> None:
    import shutil
    import subprocess
    import tempfile
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from tests.conftest import MESHES

    files = {p.stem: str(p) for p in sorted(MESHES.glob("*.obj")) + sorted(MESHES.glob("*.ply"))}
    files["spot"] = str(MESHES / "spot" / "spot_triangulated.obj")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        files.update(defects(tmp))
        (tmp / "in.json").write_text(json.dumps(files))
        blender = shutil.which("blender")
        bl = {}
        if blender is None:
            print("blender not found: apt-get install blender", file=sys.stderr)
        else:
            run = subprocess.run([blender, "-b", "--factory-startup", "--python", __file__, "--",
                                  str(tmp / "in.json"), str(tmp / "out.json")], capture_output=True, text=True, check=False)
            if run.returncode or not (tmp / "out.json").exists():
                print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
                raise SystemExit("Blender failed")
            bl = json.loads((tmp / "out.json").read_text())
        ms = {name: meshsmith_row(path) for name, path in files.items()}
    ver = subprocess.run([blender, "-v"], capture_output=True, text=True, check=False).stdout.splitlines()[0] if blender else "-"
    lines = [
        (f"meshsmith (fdm profile) vs {ver} 3D-Print Toolbox (`object_print3d_utils`), both in mm, +Z up; "
         "each cell is meshsmith / Blender. Edges: meshsmith open + non-manifold (3+ faces) / Blender non-manifold; "
        "winding: meshsmith inconsistent edges / Blender bad contiguous edges; thin and overhang: faces (share of "
        "area) — meshsmith's thin share is over 4000 area-sampled faces, its overhang excludes faces on the bed "
        "(the count in brackets includes them)."),
        "",
        ("| mesh | faces | size mm | open+nm edges | winding | intersecting faces | degenerate faces | thin (< 0.8 mm) "
        "| Blender thin, run in metres | overhang (> 45°) | fdm |"),
        "|---|---|---:|---|---|---|---|---|---|---|---|",
    ]
    for name, m in ms.items():
        b = bl.get(name, {})
        g = b.get
        lines.append(
            f"| {name} | {m['faces']} / {g('faces', '-')} | {m['extent_mm']:.0f} "
            f"| {m['open'] + m['nonmanifold']} / {g('Non Manifold Edges', '-')} "
            f"| {m['winding']} / {g('Bad Contiguous Edges', '-')} "
            f"| {m['crossing']} / {g('Intersect Face', '-')} | {m['degenerate']} / {g('Zero Faces', '-')} "
            f"| {m['thin']:.1%} (1%: {m['wall']:.3g} mm) / {g('Thin Faces', '-')} ({g('Thin Faces area', 0):.1%}) "
            f"| {g('Thin Faces m', '-')} ({g('Thin Faces m area', 0):.1%}) "
            f"| {m['over_faces']} [{m['over_bed']}] ({m['over']:.1%}) / {g('Overhang Face', '-')} "
            f"({g('Overhang Face area', 0):.1%}) | {m['verdict']} |"
        )
    text = "\n".join(lines) + "\n"
    out = root / "benchmarks" / "results" / "print_checks.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    if bpy is not None:
        argv = sys.argv[sys.argv.index("--") + 1:]
        blender_main(argv[0], argv[1])
    else:
        main()

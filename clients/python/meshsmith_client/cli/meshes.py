"""`meshsmith import` and `export`: existing meshes in, printable files out."""

from __future__ import annotations

import json
from pathlib import Path

from meshsmith_client.cli.assets import summary, write_atomic
from meshsmith_client.cli.common import AUTHOR_HELP, client_options, connect, split_ref, to_json
from meshsmith_client.cli.progress import ProgressBar
from meshsmith import limits
from meshsmith.errors import InvalidInput, MeshsmithError
from meshsmith.v1 import assets_pb2, ingest_pb2

UPLOAD_OVER = 3 * 2**20  # larger files go through the chunked Upload RPC


def add_parser(sub) -> None:
    common = client_options()
    p = sub.add_parser("import", parents=[common], help="ingest an existing mesh: repair, decimate, LODs, validate, version")
    p.add_argument("file", type=Path, help="GLB, glTF (embedded buffers), OBJ, STL, 3MF, PLY, OFF, or a .zip of "
                   "one of them with its side files (OBJ + MTL + textures, glTF + .bin)")
    p.add_argument("--name", required=True)
    p.add_argument("--faces", type=int, default=0, help="decimate LOD0 to this many triangles (default: keep)")
    p.add_argument("--profile", action="append", default=[], help="validation profile (repeatable)")
    p.add_argument("--lods", default="", help="LOD ratios, e.g. 1,0.5,0.25,0.1 (default) or 1 for none")
    p.add_argument("--watertight", action="store_true", help="close every hole (for printing)")
    p.add_argument("--units", choices=("mm", "cm", "m", "in"),
                   help="units of the file (default: STL/3MF mm, OBJ/PLY/OFF/glTF m); stored assets are in metres")
    p.add_argument("--up", choices=("y", "z"), help="up axis of the file (default: STL/3MF Z, the others Y); stored: +Y up")
    p.add_argument("--unit-scale", type=float, help="metres per file unit, e.g. 0.001 for millimetres (overrides --units)")
    p.add_argument("--keep-origin", action="store_true",
                   help="keep the file's origin (default: move to the bottom-centre pivot, min y = 0, x/z centred)")
    p.add_argument("--printable", action="store_true",
                   help="print repair: resolve self-intersections, close every hole, drop slivers and inner shells")
    p.add_argument("--solidify", type=float, metavar="MM", default=0.0,
                   help="give a flat or zero-thickness model walls this thick (millimetres); implies --printable")
    p.add_argument("--author", default=None, help=AUTHOR_HELP)
    p.add_argument("--request-id", default="")
    p.set_defaults(func=import_)

    p = sub.add_parser("export", parents=[common], help="a version as STL, OBJ or 3MF (millimetres, Z up) for printing")
    p.add_argument("spec", help="NAME[@REF]")
    p.add_argument("--format", choices=("stl", "obj", "3mf", "ply", "glb"), default="stl",
                   help="obj writes FILE plus FILE's .mtl and texture .png beside it when the asset has a texture")
    p.add_argument("--lod", type=int, default=0)
    p.add_argument("-o", "--output", type=Path, required=True)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, help="multiply the stored size (1 m -> 1000 mm) by F")
    size.add_argument("--height-mm", type=float, help="scale to this height (Z) in millimetres")
    size.add_argument("--max-mm", type=float, help="scale so the longest side is this many millimetres")
    size.add_argument("--fit", metavar="PRINTER", help="shrink to fit a printer's bed: prusa-mk4, prusa-mini, bambu-x1c")
    size.add_argument("--bed", metavar="XxYxZ", help="shrink to fit a bed of this size in millimetres, e.g. 200x200x180")
    p.add_argument("--margin-mm", type=float, help="free space at the bed's sides when fitting (default 5)")
    p.add_argument("--orient", choices=("auto",), help="auto: turn to the stable pose with the least overhang area")
    p.set_defaults(func=export)


def import_(args) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {args.file}: {err.strerror}") from None
    try:
        lods = [float(x) for x in args.lods.split(",") if x.strip()]
    except ValueError:
        raise InvalidInput(f"--lods takes comma-separated numbers, got {args.lods!r}") from None
    if args.faces:
        limits.check("target_faces", args.faces)
    if args.unit_scale is not None:
        limits.check("unit_scale", args.unit_scale)
    request = ingest_pb2.ImportRequest(asset=args.name, filename=args.file.name, target_faces=args.faces,
                                       lod_ratios=lods, profiles=args.profile, author=args.author or "",
                                       request_id=args.request_id, watertight=args.watertight,
                                       units=args.units or "", up=args.up or "", keep_origin=args.keep_origin,
                                       printable=args.printable or args.solidify > 0, solidify_mm=args.solidify)
    if args.unit_scale is not None:
        request.unit_scale = args.unit_scale
    limits.check_message(request)
    bar = ProgressBar()
    version = None
    with connect(args) as client:
        if len(data) > UPLOAD_OVER:
            request.upload_id = client.upload(data, args.file.name)
        else:
            request.mesh = data
        try:
            for response in client._stream(client.ingest.Import, request):
                if not args.json:
                    bar.update(response.event)
                if response.event.HasField("version"):
                    version = response.event.version
        finally:
            if not args.json:
                bar.close()
    if version is None:
        raise MeshsmithError("the import ended without a version")
    print(to_json(version) if args.json else summary(version))
    return 0


def _write_obj_bundle(path: Path, data: bytes) -> None:
    """model.obj/.mtl/texture from the zip -> PATH, PATH.mtl, PATH.png (references renamed to match)."""
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    images = [n for n in parts if n.lower().endswith((".png", ".jpg", ".jpeg"))]
    names = {"model.mtl": path.with_suffix(".mtl").name, **{n: path.with_suffix(Path(n).suffix).name for n in images[:1]}}
    obj = parts["model.obj"].replace(b"mtllib model.mtl", f"mtllib {names['model.mtl']}".encode())
    if "model.mtl" in parts:
        mtl = parts["model.mtl"]
        for old, new in names.items():
            mtl = mtl.replace(f"map_Kd {old}".encode(), f"map_Kd {new}".encode())
        write_atomic(path.with_suffix(".mtl"), mtl)
        for n in images[:1]:
            write_atomic(path.with_suffix(Path(n).suffix), parts[n])
    write_atomic(path, obj)


def export(args) -> int:
    name, ref = split_ref(args.spec)
    sizing = {k: getattr(args, k) for k in ("scale", "height_mm", "max_mm", "fit", "bed", "margin_mm", "orient")
              if getattr(args, k) is not None}
    request = assets_pb2.ExportVersionRequest(asset=name, ref=ref, format=args.format, lod=args.lod, **sizing)
    limits.check_message(request)
    if sizing:
        from validation.print_export import PrintParams, check_params  # noqa: PLC0415

        check_params(PrintParams(**sizing), args.format)  # the same check as the server's, before connecting
    fmt = "obj.zip" if args.format == "obj" else args.format  # OBJ + MTL + texture, unpacked below
    with connect(args) as client:
        pulled = client.export(name, ref, fmt, args.lod, **sizing)
    if fmt == "obj.zip":
        _write_obj_bundle(args.output, pulled.data)
    else:
        write_atomic(args.output, pulled.data)
    a = pulled.artifact
    if args.json:
        print(json.dumps({"output": str(args.output), "asset": name, "version": pulled.version.number,
                          "artifact": json.loads(to_json(a)), "print": pulled.placement or None,
                          "version_record": json.loads(to_json(pulled.version))}, indent=2))
        return 0
    print(f"{args.output}  {name}@{pulled.version.number} {a.kind} {a.size} bytes sha256 {a.sha256} (verified)")
    if pulled.placement:
        print("  " + placement_line(pulled.placement))
    return 0


def placement_line(p: dict) -> str:
    """export's print report in words: sizing, scale, final size, pose, bed."""
    size = " x ".join(f"{x:.1f}" for x in p["size_mm"])
    pose = "as stored (Y up -> Z up)"
    if p.get("orient") == "auto":
        pose = f"orient auto: turned so {tuple(round(d, 3) for d in p['down'])} faces the bed"
    if p.get("turned_on_bed"):
        pose += ", turned 90 deg on the bed to fit"
    bed = ""
    if p.get("bed_mm"):
        bed = f"; bed {'x'.join(f'{b:g}' for b in p['bed_mm'])} mm" + (f" ({p['printer']})" if p.get("printer") else "")
        bed += f", margin {p['margin_mm']:g} mm"
    return f"{p['sizing']}: scale {p['scale']:.6g} (1 m stored -> {p['mm_per_stored_m']:.6g} mm), {size} mm; {pose}{bed}"

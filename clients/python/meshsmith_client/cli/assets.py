"""`meshsmith generate`, `pull`, `history`: talk to a running server."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from meshsmith_client.cli.common import AUTHOR_HELP, client_options, connect, split_ref, to_json
from meshsmith_client.cli.progress import ProgressBar
from meshsmith_client.files import write_atomic  # noqa: F401  (meshes.py imports it from here)
from meshsmith import limits
from meshsmith.errors import InvalidInput
from meshsmith.v1 import types_pb2 as pb

MODES = {
    "auto": pb.RECONSTRUCT_MODE_AUTO,
    "inflate": pb.RECONSTRUCT_MODE_INFLATE,
    "revolve": pb.RECONSTRUCT_MODE_REVOLVE,
    "extrude": pb.RECONSTRUCT_MODE_EXTRUDE,
    "relief": pb.RECONSTRUCT_MODE_RELIEF,
    "voxel": pb.RECONSTRUCT_MODE_VOXEL,
}
VERDICT = {pb.CHECK_LEVEL_PASS: "pass", pb.CHECK_LEVEL_WARN: "warn", pb.CHECK_LEVEL_FAIL: "fail"}


def add_parser(sub) -> None:
    common = client_options()
    p = sub.add_parser("generate", parents=[common], help="reconstruct a mesh from an image and store it as a new version")
    p.add_argument("image", type=Path)
    p.add_argument("--name", required=True, help="asset name, e.g. props/chair")
    p.add_argument("--mode", choices=list(MODES), default="auto")
    p.add_argument("--height", type=float, help="target height in metres (default: the asset's latest version's "
                   "size, else 1.0, and the job says it was assumed)")
    p.add_argument("--width", type=float, help="target width in metres (overrides --height)")
    p.add_argument("--depth", type=float, help="depth/thickness in metres (extrude, relief, voxel)")
    r = p.add_argument_group("relief / lithophane plate (--mode relief), millimetres")
    r.add_argument("--width-mm", type=float, help="whole plate width, frame included")
    r.add_argument("--min-mm", type=float, help="thinnest plate (e.g. 0.8)")
    r.add_argument("--max-mm", type=float, help="thickest plate (e.g. 3.2)")
    r.add_argument("--frame-mm", type=float, help="border at max thickness around the picture")
    r.add_argument("--invert", action="store_true", help="thin where bright: a lithophane")
    p.add_argument("--faces", type=int, help="target triangle count (default 20000)")
    p.add_argument("--texture-size", type=int, help="largest texture edge in px (default 1024)")
    p.add_argument("--seed", type=int, default=0)
    add_symmetry_flag(p)
    p.add_argument("--profile", action="append", default=[], help="extra validation profile (repeatable)")
    p.add_argument("--require-real-back", action="store_true",
                   help="fail the version's `real-back` check when its back was inferred, not seen (one picture, "
                        "or no --view back): for prints that must not guess")
    p.add_argument("--author", default=None, help=AUTHOR_HELP)
    p.add_argument("--request-id", default="", help="makes retries safe: the same id returns the same version")
    p.add_argument("--view", action="append", default=[], metavar="LABEL=IMAGE",
                   help="another picture of the same object (repeatable, at most 5); LABEL: front, back, left, right, "
                        "top, bottom or a yaw in degrees (right = 90, camera on +X); IMAGE is the front view")
    p.add_argument("--depth-map", type=Path, help="depth map aligned with IMAGE (16-bit PNG or 32-bit float TIFF)")
    p.add_argument("--depth-units", choices=limits.CHOICES["depth_units"], default="m", help="units of --depth-map (default m)")
    p.add_argument("--fov", type=float, help="vertical field of view in degrees (0 = orthographic; default: from EXIF)")
    p.add_argument("--backend", default="", help="classical (default) or a learned backend the server has a model "
                   "for: depth (a depth-estimation model feeds the RGB-D path), shap-e or hunyuan3d (an image-to-3D "
                   "model makes the mesh), or remote (a hosted API, Tripo, makes it; the server needs its key); "
                   "auto: the server's best available learned backend, else classical (the job says which and why); "
                   "see `meshsmith backends`")
    p.set_defaults(func=generate)

    p = sub.add_parser("backends", parents=[common], help="the server's reconstruction backends: available or not, and why")
    p.set_defaults(func=backends)

    p = sub.add_parser("pull", parents=[common], help="download an artifact of a version (or a lockfile's assets), verifying sha256")
    p.add_argument("spec", help="NAME[@N|@latest|@channel], or the target DIR with --lock")
    p.add_argument("-o", "--output", type=Path)
    p.add_argument("--artifact", default="glb", help="glb (default), preview, turntable, source, source-view (--lod = view number), source-depth, lods (the LOD manifest)")
    p.add_argument("--lod", type=int, default=0)
    p.add_argument("--lock", type=Path, help="fetch exactly the assets pinned in this assets.lock.json into DIR")
    p.set_defaults(func=pull)

    p = sub.add_parser("history", parents=[common], help="an asset's versions, newest first")
    p.add_argument("name")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--author")
    p.add_argument("--since", type=_date, help="versions made at or after DATE (YYYY-MM-DD or ISO 8601, UTC)")
    p.add_argument("--until", type=_date, help="versions made before DATE")
    p.add_argument("--channel", help="versions this channel ever pointed at")
    p.add_argument("--profile", help="with --verdict: filter by this profile's verdict")
    p.add_argument("--verdict", choices=("pass", "warn", "fail"))
    p.set_defaults(func=history)


def add_symmetry_flag(p) -> None:
    """--symmetric / --no-symmetric, one tri-state flag over GenerateParams.symmetric and .no_symmetry."""
    p.add_argument("--symmetric", action=argparse.BooleanOptionalAction, default=None,
                   help="--symmetric: the object is mirror-symmetric, so inflate's unseen back mirrors the front; "
                        "--no-symmetric: assume no symmetry at all (revolve centres each row on its own axis, auto "
                        "never picks revolve). Default: neither (inflate: a flatter back; revolve: one common axis)")
    p.add_argument("--no-symmetry", dest="symmetric", action="store_const", const=False,
                   help=argparse.SUPPRESS)  # the old spelling of --no-symmetric, kept so scripts keep working


def _params(args) -> pb.GenerateParams:
    """GenerateParams from the flags, checked against meshsmith.limits before anything is sent."""
    params = pb.GenerateParams(mode=MODES[args.mode], seed=limits.check("seed", args.seed),
                               symmetric=args.symmetric is True, no_symmetry=args.symmetric is False,
                               profiles=[*args.profile, *(["real-back"] if getattr(args, "require_real_back", False)
                                                          and "real-back" not in args.profile else [])],
                               backend=getattr(args, "backend", "") or "")
    for field, value in (
        ("target_height_m", args.height),
        ("target_width_m", args.width),
        ("depth_m", args.depth),
        ("target_faces", args.faces),
        ("texture_size", args.texture_size),
        ("fov_deg", getattr(args, "fov", None)),
    ):
        if value is not None:
            setattr(params, field, limits.check(field, value))
    relief = {k: getattr(args, k, None) for k in ("width_mm", "min_mm", "max_mm", "frame_mm")}
    relief = {k: v for k, v in relief.items() if v is not None}
    if relief or getattr(args, "invert", False):
        params.relief.CopyFrom(pb.ReliefOptions(invert=getattr(args, "invert", False), **relief))
    limits.check_message(params)
    return params


def size_said(v: pb.Version) -> str:
    """What parameters.size says about where the version's size came from: "assumed", "kept from version N" or ""."""
    record = v.parameters.fields.get("size")
    if record is None or not record.HasField("struct_value"):
        return ""
    f = record.struct_value.fields
    if "assumed" in f and f["assumed"].bool_value:
        return "assumed"
    if "source" in f and f["source"].string_value == "kept":
        return f"kept from version {int(f['from_version'].number_value)}" if "from_version" in f else "kept"
    return ""


def back_said(v: pb.Version) -> str:
    """What parameters.quality says of the version's back: "inferred", "seen", "plate" or "" (older versions)."""
    record = v.parameters.fields.get("quality")
    if record is None or not record.HasField("struct_value") or "back" not in record.struct_value.fields:
        return ""
    return record.struct_value.fields["back"].string_value


def summary(v: pb.Version) -> str:
    s = v.stats
    size = (s.bbox_max.x - s.bbox_min.x, s.bbox_max.y - s.bbox_min.y, s.bbox_max.z - s.bbox_min.z)
    glb = next((a for a in v.artifacts if a.kind == "glb" and a.lod == 0), None)
    said = size_said(v)
    verdicts = ", ".join(f"{r.profile}: {VERDICT.get(r.verdict, '?')}" for r in v.reports)
    lines = [
        f"{v.asset}@{v.number}" + (" (existing version reused)" if v.reused else ""),
        f"  mode        {pb.ReconstructMode.Name(v.mode).removeprefix('RECONSTRUCT_MODE_').lower()}",
        f"  mesh        {s.faces} triangles, {s.vertices} vertices, {s.bodies} body(ies), "
        f"{'watertight' if s.watertight else 'NOT watertight'}, volume {s.volume_m3:.6f} m^3",
        f"  size        {size[0]:.3f} x {size[1]:.3f} x {size[2]:.3f} m"
        + (" (assumed: pass --height M for the real size)" if said == "assumed" else f" ({said})" if said else ""),
        f"  validation  {verdicts}",
    ]
    if v.backend not in ("classical", "import", ""):
        model = v.parameters.fields.get("backend")
        device = model.struct_value.fields["device"].string_value if model else "?"
        digest = model.struct_value.fields["weights_sha256"].string_value[:12] if model else "?"
        lines.append(f"  backend     {v.backend}: {v.backend_version} on {device}, weights sha256 {digest}…, seed {v.seed}")
    if v.caption:
        lines.append(f"  caption     {v.caption} (tags: {', '.join(v.caption_tags) or '-'})")
    quality = v.parameters.fields.get("quality")
    if quality is not None and quality.HasField("struct_value"):
        q = quality.struct_value.fields
        notes = [n.string_value for n in q["notes"].list_value.values] if "notes" in q else []
        lines.append(f"  back        {q['back'].string_value if 'back' in q else '?'}"
                     + (f", confidence {q['confidence'].number_value:.2f}" if "confidence" in q else "")
                     + (f": {notes[0]}" if notes else ""))
    if glb:
        lines.append(f"  glb         {glb.size} bytes, sha256 {glb.sha256}")
    for report in v.reports:
        for check in report.checks:
            if check.level in (pb.CHECK_LEVEL_WARN, pb.CHECK_LEVEL_FAIL):
                lines.append(f"  {VERDICT[check.level]:5} {check.id}: {check.message}")
    return "\n".join(lines)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}") from None


def _views(specs: list[str]) -> list[tuple[str, bytes]]:
    """['right=side.png', ...] -> [(label, bytes)]."""
    out = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise InvalidInput(f"--view takes LABEL=IMAGE (e.g. right=side.png or 45=turn45.jpg), got {spec!r}")
        out.append((label.strip(), _read(Path(path))))
    return out


def generate(args) -> int:
    image = _read(args.image)
    views = _views(getattr(args, "view", []))
    depth_map = getattr(args, "depth_map", None)
    depth = _read(depth_map) if depth_map else None
    params = _params(args)  # out-of-range values fail here, before connecting
    bar = ProgressBar()
    with connect(args) as client:
        try:
            version = client.generate(
                image,
                args.name,
                params,
                on_event=None if args.json else bar.update,
                author=args.author or "",  # empty: the server records the caller's identity
                request_id=args.request_id,
                **client.extra_inputs(views, depth, args.depth_units if depth is not None else ""),
            )
        finally:
            if not args.json:
                bar.close()
    print(to_json(version) if args.json else summary(version))
    return 0


def pull(args) -> int:
    if args.lock:
        return pull_lock(args)
    if args.output is None:
        raise InvalidInput("pull needs -o FILE (or --lock assets.lock.json DIR)")
    name, ref = split_ref(args.spec)
    with connect(args) as client:
        pulled = client.pull(name, ref, kind=args.artifact, lod=args.lod)
    write_atomic(args.output, pulled.data)
    if args.json:
        print(to_json(pulled.version))
    else:
        a = pulled.artifact
        print(f"{args.output}  {name}@{pulled.version.number} {a.kind} {a.size} bytes sha256 {a.sha256} (verified)")
    return 0


def _date(text: str) -> Timestamp:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD or ISO 8601)") from None
    ts = Timestamp()
    ts.FromDatetime(when if when.tzinfo else when.replace(tzinfo=timezone.utc))
    return ts


def history(args) -> int:
    filters = {"page_size": args.limit, "author": args.author or "", "channel": args.channel or "",
               "profile": args.profile or "", "since": args.since, "until": args.until}
    if args.verdict:
        filters["verdict"] = pb.CheckLevel.Value(f"CHECK_LEVEL_{args.verdict.upper()}")
        filters["profile"] = args.profile or "default"
    with connect(args) as client:
        versions = client.history(args.name, **filters)
    if args.json:
        print("[" + ",\n".join(to_json(v) for v in versions) + "]")
        return 0
    width = min(40, max([len("author"), *(len(v.author) for v in versions)]))  # whole names: one name per author
    print(f"{'ver':>4}  {'created (UTC)':19}  {'author':{width}}  {'mode':8}  {'backend':10}  {'faces':>7}  {'source':12}  verdicts")
    for v in versions:
        mode = pb.ReconstructMode.Name(v.mode).removeprefix("RECONSTRUCT_MODE_").lower()
        verdicts = ",".join(f"{r.profile}:{VERDICT.get(r.verdict, '?')}" for r in v.reports)
        flags = (" deprecated" if v.deprecated else "") + (f" [{', '.join(v.channels)}]" if v.channels else "")
        flags += " size-assumed" if size_said(v) == "assumed" else ""
        flags += " back-inferred" if back_said(v) == "inferred" else ""
        created = v.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
        print(f"{v.number:>4}  {created}  {v.author[:width]:{width}}  {mode:8}  {v.backend[:10]:10}  {v.stats.faces:>7}  "
              f"{v.source_sha256[:12]}  {verdicts}{flags}" + (f"  \"{v.caption[:60]}\"" if v.caption else ""))
    return 0


def pull_lock(args) -> int:
    from meshsmith_client.lockfile import fetch

    fetched = fetch(args.lock, Path(args.spec))
    for f in fetched:
        print(f"{'ok (present)' if f.skipped else 'fetched':13} {f.key} -> {f.path}")
    print(f"{len(fetched)} assets verified against {args.lock}")
    return 0


def backends(args) -> int:
    with connect(args) as client:
        found = client.list_backends()
    if args.json:
        print("[" + ",\n".join(to_json(b) for b in found) + "]")
        return 0
    for b in found:
        state = "available" if b.available else "unavailable"
        model = f"  {b.model_id}@{b.revision}" if b.model_id else ""
        model += f" weights sha256 {b.weights_sha256[:12]}…" if b.weights_sha256 else ""
        print(f"{b.name:10}  {b.produces:8}  {state:11}  device {b.device or '-'}{model}")
        if b.reason:
            print(f"{'':10}  {b.reason}")
    return 0

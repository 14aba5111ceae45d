"""The generate, import and validate pipelines: plain domain code run inside worker processes.

No gRPC, no SQL here: the worker gets a frozen job, emits progress events
`(stage, fraction, message)` and returns plain data the server stores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Callable

import trimesh

from meshsmith.errors import InvalidInput, MeshsmithError
from reconstruct.cameras import locate_crop
from reconstruct.exif import fov_from_exif
from reconstruct.image import ImageLimits, decode_image
from reconstruct.learned import CLASSICAL, LearnedConfig
from reconstruct.learned.base import HOSTED
from reconstruct.learned.salient import is_onnx_model
from reconstruct.modes import ReconstructParams, Reconstruction, reconstruct
from reconstruct.multiview import View, reconstruct_views
from reconstruct.rgbd import crop_depth, decode_depth, reconstruct_rgbd
from reconstruct.relief import ReliefParams, relief_input, relief_with
from reconstruct.place import PlaceParams, place
from reconstruct.segment import SegmentParams, segment
from reconstruct.cutout import cut_out, cutout_params
from reconstruct.extrude import DEFAULT_DEPTH_SHARE
from server.sizing import SizeBasis, describe as describe_size
from server.quality import describe as describe_quality
from reconstruct.texture import front_only
from validation.decimate import DecimateParams, decimate
from validation import materials
from validation.formats import EXPORTERS, MeshLimits, check_geometry, export_3mf, export_glb, load_mesh
from validation.print_export import PRINT_FORMATS, PrintParams
from validation.print_export import describe as describe_placement
from validation.print_export import prepare as prepare_for_print
from validation.units import load_scene
from validation.lod import build_lods
from validation.repair import RepairParams, repair
from validation.report import Report, validate

Emit = Callable[..., None]
DEFAULT_LODS = (1.0, 0.5, 0.25, 0.1)


@dataclass(frozen=True)
class GenerateJob:
    image: bytes
    reconstruct: ReconstructParams
    decimate: DecimateParams
    profiles: tuple[str, ...] = ("default",)
    limits: ImageLimits = ImageLimits()
    segment: SegmentParams = SegmentParams()
    repair: RepairParams = RepairParams()
    lod_ratios: tuple[float, ...] = DEFAULT_LODS
    previews: bool = True
    views: tuple[tuple[str, bytes], ...] = ()   # (label, encoded image) of the extra views; `image` is the front
    depth: bytes | None = None                  # depth map aligned with `image` (RGB-D)
    depth_units: str = "m"
    fov_deg: float | None = None                # None: the image's EXIF focal length, else orthographic
    relief: ReliefParams | None = None  # millimetre plate options (mode relief)
    backend: str = CLASSICAL                    # or a learned backend (reconstruct.learned.BACKENDS)
    learned: LearnedConfig = LearnedConfig()    # the server's models and device
    size: SizeBasis = SizeBasis()               # where the size comes from (given, kept from a version, assumed)


# An import with a face target decimates before repairing when the file has more than this many times the target.
BIG_IMPORT_RATIO = 8


@dataclass(frozen=True)
class ImportJob:
    mesh: bytes
    filename: str
    decimate: DecimateParams | None  # None: keep the mesh's own face count
    repair: RepairParams = RepairParams()
    unit_scale: float | None = None  # multiply file coordinates by this to get metres (overrides units)
    units: str = ""  # "" : the format's convention (validation.units)
    up: str = ""
    profiles: tuple[str, ...] = ("default",)
    limits: MeshLimits = MeshLimits()
    lod_ratios: tuple[float, ...] = DEFAULT_LODS
    previews: bool = True
    keep_origin: bool = False  # False: move to the bottom-centre pivot, as generated assets are


@dataclass(frozen=True)
class ValidateJob:
    mesh: bytes
    filename: str
    profiles: tuple[str, ...] = ("default",)
    limits: MeshLimits = MeshLimits()
    repair: bool = False
    units: str = ""  # "" : the format's convention (validation.units)
    up: str = ""
    printable: bool = False  # with repair: print repair (self-intersections, every hole, voids)
    solidify_mm: float = 0.0  # with repair: wall thickness for open sheets


@dataclass(frozen=True)
class ExportJob:
    glb: bytes
    format: str
    sizing: PrintParams = PrintParams()


@dataclass(frozen=True)
class Output:
    """What a worker hands back: GLBs (LOD0, then LOD1..n), manifest, previews and report data (JSON-able dicts)."""

    glb: bytes
    mode: str
    reason: str
    stats: dict
    reports: tuple[dict, ...]
    repair: dict
    lods: tuple[bytes, ...] = ()
    manifest: bytes | None = None
    preview_png: bytes | None = None
    turntable_webp: bytes | None = None
    timings_ms: dict = field(default_factory=dict)
    fov_deg: float = 0.0  # the field of view reconstruction used (requested, from EXIF, or 0)
    backend: dict = field(default_factory=dict)  # a learned backend's lineage (reconstruct.learned.ModelInfo)
    caption: dict = field(default_factory=dict)  # {"text", "tags", "lineage"} when the server has a caption model
    segment: dict = field(default_factory=dict)  # the segmentation model's lineage and box prompt, when one cut it out
    cutout: dict = field(default_factory=dict)  # which cut-out the picture got (reconstruct.cutout: used, model lineage)
    size: dict = field(default_factory=dict)  # parameters.size: assumed / source / from_version / note (server.sizing)
    size_basis: SizeBasis | None = None  # the basis the job ran with (the store applies its kept sizes)
    quality: dict = field(default_factory=dict)  # parameters.quality: back inferred / seen / plate, confidence, notes


# Share of the whole job at the end of each stage, in pipeline order.
PROGRESS = {
    "decode": 0.05, "load": 0.05, "model": 0.10, "caption": 0.12, "segment": 0.15, "reconstruct": 0.35, "decimate": 0.50, "repair": 0.62,
    "export": 0.68, "validate": 0.76, "lods": 0.86, "preview": 0.95,
}


class _Clock:
    """Times each stage and emits `(stage, fraction, message)` when it ends."""

    def __init__(self, emit: Emit):
        self.emit = emit
        self.timings_ms: dict[str, float] = {}
        self.t = time.perf_counter()

    def done(self, stage: str, message: str) -> None:
        now = time.perf_counter()
        self.timings_ms[stage] = round((now - self.t) * 1000, 1)
        self.t = now
        self.emit(stage, PROGRESS[stage], message)


def _reports(mesh, profiles, glb, back: str | None = None) -> tuple[Report, ...]:
    """The `default` profile's report first, then the other profiles asked for (`back`: see server.quality)."""
    return tuple(validate(mesh, p, glb=glb, back=back) for p in dict.fromkeys(("default", *profiles)))


def generate(job: GenerateJob, emit: Emit) -> Output:
    """image -> decode -> segment -> reconstruct -> decimate -> repair -> place, then the common tail."""
    clock = _Clock(emit)
    rgba = decode_image(job.image, job.limits)
    fov = picture_fov(job.image, job.fov_deg)
    rparams = dataclasses.replace(job.reconstruct, fov_deg=fov)
    if job.views and job.depth is not None:
        raise InvalidInput("send extra views or a depth map, not both")
    extra = [(label, _decode_view(label, data, job.limits)) for label, data in job.views]
    depth = decode_depth(job.depth, job.limits.max_pixels) if job.depth is not None else None
    clock.done("decode", f"decoded a {rgba.shape[1]}x{rgba.shape[0]} image" + (f", {len(extra)} more views" if extra else "")
               + (", a depth map" if depth is not None else "") + (f", field of view {fov:.1f} deg" if fov else ""))
    units, lineage = job.depth_units, {}
    makes = _learned_product(job)
    if makes == "depth":
        depth, units, lineage = _learned_depth(rgba, job)
        clock.done("model", f"depth from {lineage['model_id']}@{lineage['revision']} on {lineage['device']} ({units})")
    caption = {}
    if job.learned.model("caption") is not None:
        from reconstruct.learned.caption import caption_image

        said = caption_image(rgba[..., :3], job.learned, seed=job.reconstruct.seed)
        caption = {"text": said.text, "tags": list(said.tags), "lineage": said.info.lineage()}
        clock.done("caption", f"caption by {said.info.model_id}: {said.text[:80]!r}")
    relief_mode = job.reconstruct.mode == "relief"
    cut, cutout = {}, {}
    if relief_mode:
        seg = relief_input(rgba, job.segment)
    elif job.learned.model("segment") is not None and not is_onnx_model(job.learned.model("segment")):  # SAM
        from reconstruct.learned.segment import segment_learned

        learned_cut = segment_learned(rgba, job.learned, job.segment, seed=job.reconstruct.seed)
        seg, cut = learned_cut.segmented, {**learned_cut.info.lineage(), "box": list(learned_cut.box)}
    else:  # alpha, the plain-backdrop model, or the salient-object model (U²-Netp or --model segment=FILE.onnx)
        chosen = cut_out(rgba, job.segment, cutout_params(job.learned))
        seg, cutout = chosen.segmented, chosen.lineage
        for warning in chosen.warnings:  # no job silently loses a part (issue 19)
            emit("segment", PROGRESS["caption"], f"warning: {warning}")
    clock.done("segment", f"object separated by {cutout.get('used') or seg.method} ({int(seg.mask.sum())} px)")
    if relief_mode and job.relief is not None:
        rec = Reconstruction(mesh=relief_with(seg, rparams, job.relief), mode="relief", reason="requested")
    elif job.backend == "remote":  # a hosted API makes the mesh: waiting on it is reported as it goes
        from reconstruct.learned.remote import shape_from_remote

        def waiting(share: float, message: str) -> None:
            emit("reconstruct", PROGRESS["segment"] + (PROGRESS["reconstruct"] - PROGRESS["segment"]) * share, message)

        made = shape_from_remote(rgba, seg, job.learned.remote, rparams, seed=job.reconstruct.seed, progress=waiting)
        rec, lineage = made.reconstruction, made.lineage
    elif makes == "mesh":
        made = MESH_BACKENDS[job.backend](seg, job, rparams)
        rec, lineage = made.reconstruction, made.info.lineage()
    else:
        rec = _reconstruct(rgba, seg, extra, depth, job, rparams, units)
    confidence = getattr(rec, "confidence", 1.0)
    clock.done("reconstruct", f"mode {rec.mode} (confidence {confidence:.2f}): {rec.reason}; {len(rec.mesh.faces)} triangles")
    lowest = job.decimate.target_faces and int(job.decimate.target_faces * min(job.lod_ratios or (1.0,)))
    single_mesh, mirrored = front_only(rec.mesh, lowest)  # a low face budget cannot keep the back tile's seam
    if mirrored:
        rec = dataclasses.replace(rec, mesh=single_mesh)
    quality_note, quality = describe_quality(rec.mode, confidence, tuple(label for label, _ in job.views),
                                             depth is not None and makes != "depth", job.backend, mirrored)
    emit("quality", PROGRESS["reconstruct"], quality_note)
    dec = decimate(rec.mesh, job.decimate)
    clock.done("decimate", f"{dec.faces_before} -> {dec.faces_after} triangles, max error {dec.max_error:.4%} of the diagonal")
    # reconstruct's meshes are closed by construction: repairing after decimation (3x fewer faces)
    # also catches anything decimation did
    mesh, log = repair(dec.mesh, job.repair)
    rp = job.reconstruct
    if relief_mode and job.relief is not None and job.relief.in_mm:  # keep the plate's millimetre size
        rp = dataclasses.replace(rp, target_width_m=float(rec.mesh.extents[0]), target_height_m=None)
    mesh = place(mesh, PlaceParams(rp.target_height_m, rp.target_width_m))
    clock.done("repair", f"repaired: {len(log.notes)} fixes, {log.open_edges_after} open edges left")
    depth_assumed = (f"{DEFAULT_DEPTH_SHARE:.0%} of the outline's shorter side"
                     if rec.mode == "extrude" and rp.depth_m is None else "")
    note, size = describe_size(job.size, mesh.extents, rp.target_width_m is not None and rp.target_height_m is None,
                               depth_assumed)
    if note:
        emit("size", PROGRESS["repair"], note)
    out = _tail(mesh, log, dec, rec.mode, rec.reason, job.profiles, job.lod_ratios, job.previews, clock,
                back=quality["back"])
    return dataclasses.replace(out, fov_deg=rparams.fov_deg, backend=lineage, caption=caption, segment=cut,
                               cutout=cutout, size=size, size_basis=job.size, quality=quality)


def picture_fov(image: bytes, requested: float | None) -> float:
    """The field of view (degrees) reconstruction uses: the requested one, else the picture's EXIF, else 0."""
    return round(requested if requested is not None else (fov_from_exif(image) or 0.0), 6)


def runs_models(job: GenerateJob) -> bool:
    """True when the job loads a learned model (its backend, or the server's caption / segmentation model, which
    run on every generate): the server sends it to the GPU worker pool (`serve --gpu-workers`). A hosted backend
    (HOSTED) loads none, it waits on HTTP for minutes: it stays in the classical pool, off the GPU workers."""
    cfg = job.learned
    return (job.backend not in (CLASSICAL, *HOSTED) or cfg.model("caption") is not None
            or (cfg.model("segment") is not None and not is_onnx_model(cfg.model("segment"))
                and job.reconstruct.mode != "relief"))


def _learned_product(job: GenerateJob) -> str | None:
    """What the job's learned backend makes ("depth" or "mesh"), None for classical; InvalidInput when the
    request asks for more than one picture or a mode the backend replaces."""
    if job.backend == CLASSICAL:
        return None
    from reconstruct.learned import spec

    makes = spec(job.backend).produces
    if makes not in ("depth", "mesh"):
        raise InvalidInput(f"backend {job.backend!r} makes no shape for generate")
    if job.views or job.depth is not None:
        raise InvalidInput(f"backend {job.backend!r} works from one picture: send it without views or a depth map "
                           "(or drop the backend)")
    if job.reconstruct.mode != "auto":
        what = "from depth (mode rgbd)" if makes == "depth" else "with its model"
        raise InvalidInput(f"backend {job.backend!r} reconstructs {what}: leave the mode on auto")
    return makes


def _shap_e(seg, job: GenerateJob, rparams: ReconstructParams):
    from reconstruct.learned.shape import shape_from_picture

    return shape_from_picture(seg, job.learned, rparams, seed=job.reconstruct.seed)


def _hunyuan3d(seg, job: GenerateJob, rparams: ReconstructParams):
    from reconstruct.learned.hunyuan import hunyuan_from_picture

    return hunyuan_from_picture(seg, job.learned, rparams, seed=job.reconstruct.seed)


# image-to-3D backends that run a local model: name -> (segmented picture, job, params) -> LearnedMesh.
# torch is imported inside, on the first call.
MESH_BACKENDS = {"shap-e": _shap_e, "hunyuan3d": _hunyuan3d}


def _learned_depth(rgba, job: GenerateJob):
    """The picture's depth from the configured model -> ((H, W) depth, units, lineage dict)."""
    from reconstruct.learned.depth import predict_depth

    pred = predict_depth(rgba[..., :3], job.learned, seed=job.reconstruct.seed, backend=job.backend)
    return pred.depth, pred.units, pred.info.lineage()


def _decode_view(label: str, data: bytes, limits: ImageLimits):
    try:
        return decode_image(data, limits)
    except MeshsmithError as err:
        raise type(err)(f"view {label!r}: {err.message}") from None


def _reconstruct(rgba, seg, extra, depth, job: GenerateJob, rp: ReconstructParams, units: str | None = None):
    """One picture, several labelled views (segmented each), or a picture with its depth map (in `units`)."""
    if not extra and depth is None:
        return reconstruct(seg, rp)
    picture = rgba.shape[:2]
    offset = locate_crop(rgba, seg)
    if extra:
        views = [View("front", seg, offset, picture)]
        for label, img in extra:
            try:
                s = segment(img, job.segment)
            except MeshsmithError as err:
                raise type(err)(f"view {label!r}: {err.message}") from None
            views.append(View(label, s, locate_crop(img, s), img.shape[:2]))
        return reconstruct_views(views, rp)
    crop = crop_depth(depth, picture, offset, seg.mask.shape)
    principal = (picture[1] / 2 - offset[1], picture[0] / 2 - offset[0])
    return reconstruct_rgbd(seg, crop, units or job.depth_units, rp, principal=principal, picture_height=picture[0])


def import_mesh(job: ImportJob, emit: Emit) -> Output:
    """mesh file -> load -> unit scale -> repair -> [decimate], then the common tail."""
    clock = _Clock(emit)
    if job.unit_scale is not None:  # metres per file unit, given: read the numbers as they are, then scale
        mesh, frame = load_scene(job.mesh, job.filename, None if job.filename.lower().endswith(".3mf") else "m",
                                 job.up or None, job.limits)
        mesh.apply_scale(job.unit_scale)
    else:
        mesh, frame = load_scene(job.mesh, job.filename, job.units or None, job.up or None, job.limits)
    check_geometry(mesh, f"the mesh in metres ({frame.describe()})")
    clock.done("load", f"loaded {len(mesh.faces)} triangles from {job.filename}, {frame.describe()}")
    target = job.decimate.target_faces if job.decimate else None
    if target and len(mesh.faces) > BIG_IMPORT_RATIO * target:
        # a big scan: repairing every full-resolution triangle dominated the import (issue 11 item 8); decimate
        # first (fast-simplification takes any triangle soup), then repair the result once
        dec = decimate(mesh, job.decimate)
        clock.done("decimate", f"{dec.faces_before} -> {dec.faces_after} triangles, max error {dec.max_error:.4%}")
        mesh, log = repair(dec.mesh, job.repair)
        log = dataclasses.replace(log, notes=(f"{job.filename} {frame.describe()}",
                                              f"decimated before repair ({dec.faces_before} > {BIG_IMPORT_RATIO} x "
                                              f"the {target} target)", *log.notes))
        clock.done("repair", f"repaired: parts {log.parts_before} -> {log.parts_after}, open edges "
                             f"{log.open_edges_before} -> {log.open_edges_after}, {log.faces_reversed} faces reversed")
        return _import_tail(mesh, log, dec, job, clock)
    mesh, log = repair(mesh, job.repair)
    log = dataclasses.replace(log, notes=(f"{job.filename} {frame.describe()}", *log.notes))
    clock.done("repair", f"repaired: parts {log.parts_before} -> {log.parts_after}, open edges "
                         f"{log.open_edges_before} -> {log.open_edges_after}, {log.faces_reversed} faces reversed")
    dec = decimate(mesh, job.decimate) if job.decimate else None
    if dec is not None:
        mesh, after = repair(dec.mesh, job.repair)  # strong reductions can pinch a closed mesh: fix it again
        log = dataclasses.replace(log, notes=(*log.notes, *(f"after decimation: {n}" for n in after.notes)))
        clock.done("decimate", f"{dec.faces_before} -> {dec.faces_after} triangles, max error {dec.max_error:.4%}")
    return _import_tail(mesh, log, dec, job, clock)


def _import_tail(mesh, log, dec, job: ImportJob, clock: _Clock) -> Output:
    """Pivot (unless keep_origin) and material, then the common tail."""
    if not job.keep_origin:
        lo, hi = mesh.bounds
        mesh = place(mesh, PlaceParams(target_height_m=None))
        log = dataclasses.replace(log, notes=(*log.notes, "moved to the bottom-centre pivot by "
                                              f"{', '.join(f'{x:+.4g}' for x in mesh.bounds[0] - lo)} m (keep_origin keeps it)"))
    log = dataclasses.replace(log, notes=(*log.notes, f"material: {materials.describe(mesh)}"))
    return _tail(mesh, log, dec, "import", f"imported from {job.filename}", job.profiles, job.lod_ratios, job.previews,
                 clock, look=materials.as_asset)


def _tail(mesh, log, dec, mode: str, reason: str, profiles, lod_ratios, previews: bool, clock: _Clock,
          look: Callable[[trimesh.Trimesh], trimesh.Trimesh] = lambda m: m, back: str | None = None) -> Output:
    """export -> validate -> LODs (+ manifest) -> previews. `look` gives each stored GLB its material."""
    glb = export_glb(look(mesh))
    clock.done("export", f"GLB {len(glb)} bytes")
    reports = _reports(mesh, profiles, glb, back)
    clock.done("validate", ", ".join(f"{r.profile}: {r.verdict}" for r in reports))
    lods = build_lods(mesh, tuple(lod_ratios), full_report=reports[0]) if len(lod_ratios) > 1 else []
    lod_glbs = tuple(export_glb(look(lod.mesh)) for lod in lods[1:])
    manifest = _manifest([glb, *lod_glbs], lods) if lods else None
    lod_notes = [f"LOD{l.level}: {l.faces} triangles, max error {l.max_error:.4%} of the diagonal, {l.report.verdict}"
                 for l in lods[1:]]
    clock.done("lods", ", ".join(f"LOD{l.level} {l.faces}" for l in lods) or "no LODs asked for")
    preview_png = turntable = None
    if previews:
        preview_png, turntable, message = _previews(mesh)
        clock.done("preview", message)
    repair_log = dataclasses.asdict(log)
    repair_log["notes"] = list(log.notes)
    if dec is not None:
        repair_log["notes"].append(f"decimated {dec.faces_before} -> {dec.faces_after} triangles (max error "
                                   f"{dec.max_error:.4%}, rms {dec.rms_error:.4%} of the bbox diagonal)")
    repair_log["notes"] += lod_notes
    return Output(glb=glb, mode=mode, reason=reason, stats=dataclasses.asdict(reports[0].stats),
                  reports=tuple(dataclasses.asdict(r) for r in reports),
                  repair=repair_log, lods=lod_glbs, manifest=manifest, preview_png=preview_png,
                  turntable_webp=turntable, timings_ms=clock.timings_ms)


def _manifest(glbs: list[bytes], lods) -> bytes:
    """LOD manifest for engines without MSFT_lod support (glTFast): files, faces, verdicts, LODGroup heights.

    Only deterministic facts: the sampled decimation errors vary run to run, so they go to the repair notes.
    """
    levels = [
        {"lod": l.level, "ratio": l.ratio, "faces": l.faces, "sha256": hashlib.sha256(g).hexdigest(), "size": len(g),
         "verdict": l.report.verdict, "screen_relative_height": round(0.5 ** (l.level + 1), 4)}
        for l, g in zip(lods, glbs)
    ]
    return json.dumps({"manifestVersion": 1, "lods": levels}, indent=2, sort_keys=True).encode()


def _previews(mesh) -> tuple[bytes | None, bytes | None, str]:
    """Preview PNG + turntable; a machine without an offscreen GL context still gets its mesh."""
    try:
        from reconstruct.preview import preview_png, turntable_webp

        return preview_png(mesh), turntable_webp(mesh), "rendered preview and turntable"
    except (ImportError, RuntimeError) as err:
        return None, None, f"preview skipped: {err}"


def validate_mesh(job: ValidateJob, emit: Emit) -> tuple[dict, tuple[dict, ...], dict | None, dict]:
    """mesh bytes -> load (into metres, +Y up) -> [repair] -> stats + reports (+ repair log) + the frame read in."""
    mesh, frame = load_scene(job.mesh, job.filename, job.units or None, job.up or None, job.limits)
    glb = job.mesh if job.filename.lower().endswith(".glb") else None
    log = None
    if job.repair:
        mesh, log = repair(mesh, RepairParams(printable=job.printable, solidify_m=job.solidify_mm / 1000.0))
        glb = None
    reports = _reports(mesh, job.profiles, glb)
    return (dataclasses.asdict(reports[0].stats), tuple(dataclasses.asdict(r) for r in reports),
            log and dataclasses.asdict(log), {**dataclasses.asdict(frame), "description": frame.describe()})


@dataclass(frozen=True)
class Exported:
    data: bytes
    placement: dict  # validation.print_export.describe: scale, size in mm, pose, bed; {} for glb/ply


def export_mesh(job: ExportJob, emit: Emit) -> Exported:
    """A stored GLB converted for printing/DCC tools (STL/OBJ/3MF: millimetres, Z up), with what the print
    sizing chose. A 3MF fitted to a bed carries that bed for slicers."""
    mesh: trimesh.Trimesh = load_mesh(job.glb, "stored.glb")
    mesh, placement = prepare_for_print(mesh, job.sizing, job.format)
    if job.format == "3mf" and placement is not None and placement.bed_mm is not None:
        data = export_3mf(mesh, bed_mm=placement.bed_mm)
    else:
        data = EXPORTERS[job.format](mesh)
    printed = job.format in PRINT_FORMATS
    return Exported(data, describe_placement(placement, job.sizing, mesh) if printed else {})

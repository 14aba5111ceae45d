"""The generate and validate pipelines: plain domain code run inside worker processes.

No gRPC, no SQL here: the worker gets a frozen job, emits progress events
`(stage, fraction, message)` and returns plain data the server stores.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

from reconstruct.image import ImageLimits, decode_image
from reconstruct.modes import ReconstructParams, reconstruct
from reconstruct.place import PlaceParams, place
from reconstruct.segment import SegmentParams, segment
from validation.decimate import DecimateParams, decimate
from validation.formats import MeshLimits, export_glb, load_mesh
from validation.repair import RepairParams, repair
from validation.report import mesh_stats, validate

Emit = Callable[..., None]


@dataclass(frozen=True)
class GenerateJob:
    image: bytes
    reconstruct: ReconstructParams
    decimate: DecimateParams
    profiles: tuple[str, ...] = ("default",)
    limits: ImageLimits = ImageLimits()
    segment: SegmentParams = SegmentParams()
    repair: RepairParams = RepairParams()
    previews: bool = True


@dataclass(frozen=True)
class ValidateJob:
    mesh: bytes
    filename: str
    profiles: tuple[str, ...] = ("default",)
    limits: MeshLimits = MeshLimits()
    repair: bool = False


@dataclass(frozen=True)
class Output:
    """What a worker hands back: the GLB, previews and report data (JSON-able dicts)."""

    glb: bytes
    mode: str
    reason: str
    stats: dict
    reports: tuple[dict, ...]
    repair: dict
    preview_png: bytes | None = None
    turntable_webp: bytes | None = None
    timings_ms: dict = field(default_factory=dict)


# Share of the whole job at the end of each stage, in pipeline order.
PROGRESS = {
    "decode": 0.05,
    "segment": 0.15,
    "reconstruct": 0.40,
    "repair": 0.55,
    "decimate": 0.70,
    "export": 0.75,
    "validate": 0.85,
    "preview": 0.95,
}


class _Clock:
    """Times each stage and emits `(stage, fraction, message)` when it ends."""

    def __init__(self, emit: Emit):
        self.emit = emit
        self.timings_ms: dict[str, float] = {}

    def done(self, stage: str, started: float, message: str) -> None:
        self.timings_ms[stage] = round((time.perf_counter() - started) * 1000, 1)
        self.emit(stage, PROGRESS[stage], message)


def _reports(mesh, profiles, glb) -> tuple[dict, ...]:
    names = dict.fromkeys(("default", *profiles))
    return tuple(dataclasses.asdict(validate(mesh, p, glb=glb)) for p in names)


def generate(job: GenerateJob, emit: Emit) -> Output:
    """image bytes -> decode -> segment -> reconstruct -> repair -> decimate -> export -> validate -> preview."""
    clock = _Clock(emit)
    t = time.perf_counter()
    rgba = decode_image(job.image, job.limits)
    clock.done("decode", t, f"decoded a {rgba.shape[1]}x{rgba.shape[0]} image")

    t = time.perf_counter()
    seg = segment(rgba, job.segment)
    clock.done("segment", t, f"object separated by {seg.method} ({int(seg.mask.sum())} px)")

    t = time.perf_counter()
    rec = reconstruct(seg, job.reconstruct)
    clock.done("reconstruct", t, f"mode {rec.mode}: {rec.reason}; {len(rec.mesh.faces)} triangles")

    t = time.perf_counter()
    mesh, log = repair(rec.mesh, job.repair)
    clock.done("repair", t, f"repaired: {len(log.notes)} fixes, {log.open_edges_after} open edges left")

    t = time.perf_counter()
    dec = decimate(mesh, job.decimate)
    rp = job.reconstruct
    mesh = place(dec.mesh, PlaceParams(rp.target_height_m, rp.target_width_m))
    clock.done(
        "decimate",
        t,
        f"{dec.faces_before} -> {dec.faces_after} triangles, max error {dec.max_error:.4%} of the diagonal",
    )

    t = time.perf_counter()
    glb = export_glb(mesh)
    clock.done("export", t, f"GLB {len(glb)} bytes")

    t = time.perf_counter()
    reports = _reports(mesh, job.profiles, glb)
    verdicts = ", ".join(f"{r['profile']}: {r['verdict']}" for r in reports)
    clock.done("validate", t, verdicts)

    preview_png = turntable = None
    if job.previews:
        t = time.perf_counter()
        preview_png, turntable, message = _previews(mesh)
        clock.done("preview", t, message)

    repair_log = dataclasses.asdict(log)
    repair_log["notes"] = [*log.notes, f"decimated {dec.faces_before} -> {dec.faces_after} triangles "
                           f"(max error {dec.max_error:.4%}, rms {dec.rms_error:.4%} of the bbox diagonal)"]
    return Output(
        glb=glb,
        mode=rec.mode,
        reason=rec.reason,
        stats=dataclasses.asdict(mesh_stats(mesh)),
        reports=reports,
        repair=repair_log,
        preview_png=preview_png,
        turntable_webp=turntable,
        timings_ms=clock.timings_ms,
    )


def _previews(mesh) -> tuple[bytes | None, bytes | None, str]:
    """Preview PNG + turntable; a machine without an offscreen GL context still gets its mesh."""
    try:
        from reconstruct.preview import preview_png, turntable_webp

        return preview_png(mesh), turntable_webp(mesh), "rendered preview and turntable"
    except (ImportError, RuntimeError) as err:
        return None, None, f"preview skipped: {err}"


def validate_mesh(job: ValidateJob, emit: Emit) -> tuple[dict, tuple[dict, ...], dict | None]:
    """mesh bytes -> load -> [repair] -> stats + reports (+ repair log when repaired)."""
    mesh = load_mesh(job.mesh, job.filename, job.limits)
    glb = job.mesh if job.filename.lower().endswith(".glb") else None
    log = None
    if job.repair:
        mesh, log = repair(mesh, RepairParams())
        glb = None
    return dataclasses.asdict(mesh_stats(mesh)), _reports(mesh, job.profiles, glb), log and dataclasses.asdict(log)

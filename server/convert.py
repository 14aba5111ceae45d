"""Every conversion between protobuf messages and domain data, in one module.

Domain report data are the plain dicts of validation's dataclasses
(`dataclasses.asdict`): levels "pass"/"warn"/"fail", bbox as 3-tuples.
"""

from __future__ import annotations

import json
from datetime import timezone

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from meshsmith import limits
from meshsmith.errors import InvalidInput
from meshsmith.limits import check as check_limit
from meshsmith.v1 import assets_pb2, ingest_pb2
from meshsmith.v1 import types_pb2 as pb
from reconstruct.modes import ReconstructParams
from registry import CheckChange, LineageChange, MetricDelta, ParamChange, VersionDiff
from validation.decimate import DecimateParams
from validation.print_export import DEFAULT_MARGIN_MM, PrintParams, check_params

MODES = {
    pb.RECONSTRUCT_MODE_UNSPECIFIED: "auto",
    pb.RECONSTRUCT_MODE_AUTO: "auto",
    pb.RECONSTRUCT_MODE_INFLATE: "inflate",
    pb.RECONSTRUCT_MODE_REVOLVE: "revolve",
    pb.RECONSTRUCT_MODE_EXTRUDE: "extrude",
    pb.RECONSTRUCT_MODE_RELIEF: "relief",
    pb.RECONSTRUCT_MODE_VOXEL: "voxel",
}
MODES.update({pb.RECONSTRUCT_MODE_MULTIVIEW: "multiview", pb.RECONSTRUCT_MODE_RGBD: "rgbd"})  # set by the inputs
INPUT_MODES = ("multiview", "rgbd")  # asked for, they need GenerateRequest.views / .depth; reconstruct sees "auto"
MODE_ENUMS = {name: value for value, name in MODES.items() if value != pb.RECONSTRUCT_MODE_UNSPECIFIED}
LEVELS = {"pass": pb.CHECK_LEVEL_PASS, "warn": pb.CHECK_LEVEL_WARN, "fail": pb.CHECK_LEVEL_FAIL}
LEVEL_NAMES = {value: name for name, value in LEVELS.items()}

UTC = timezone.utc
ERROR_SAMPLES = 10_000  # surface samples a side for the decimation error estimate (+ the output vertices)


DEFAULT_LODS = (1.0, 0.5, 0.25, 0.1)
PROFILE_NAMES = ("default", "unity-pc", "unity-mobile", "webgl", "fdm", "sla", "real-back")


def check_lod_ratios(ratios) -> tuple[float, ...]:
    """Requested LOD ratios (LOD0 = 1 always first); InvalidInput outside meshsmith.limits."""
    ratios = tuple(limits.check_count("lod_ratios", ratios)) or DEFAULT_LODS
    for i, r in enumerate(ratios):
        limits.LIMITS["lod_ratios"].check(f"lod_ratios[{i}]", r)
    return tuple(sorted({1.0, *ratios}, reverse=True))


def check_profiles(names) -> tuple[str, ...]:
    names = limits.check_count("profiles", names)
    unknown = [n for n in names if n not in PROFILE_NAMES]
    if unknown:
        raise InvalidInput(f"unknown validation profile(s) {limits.quote(unknown)}; use {', '.join(PROFILE_NAMES)}")
    return tuple(names)


def generate_params(params: pb.GenerateParams, default_faces: int):
    """GenerateParams -> (reconstruct params, decimate params, profiles, LOD ratios); InvalidInput on bad values."""
    limits.check_message(params)  # every field within meshsmith.limits (mode a known enum value)
    if params.mode not in MODES:
        raise InvalidInput(f"unknown reconstruction mode {params.mode}; use one of {', '.join(MODE_ENUMS)}")
    faces = limits.check("target_faces", params.target_faces if params.HasField("target_faces") else default_faces)
    relief_params(params)  # refuse bad relief options before any work
    texture = params.texture_size if params.HasField("texture_size") else 1024
    width = params.target_width_m if params.HasField("target_width_m") else None
    height = params.target_height_m if params.HasField("target_height_m") else (None if width else 1.0)
    rec = ReconstructParams(
        mode="auto" if MODES[params.mode] in INPUT_MODES else MODES[params.mode],
        target_height_m=height,
        target_width_m=width,
        depth_m=params.depth_m if params.HasField("depth_m") else None,
        texture_size=texture,
        seed=params.seed,
        symmetry=not params.no_symmetry,
        symmetric=params.symmetric,
        fov_deg=fov_request(params) or 0.0,
    )
    return rec, DecimateParams(target_faces=faces, error_samples=ERROR_SAMPLES), check_profiles(params.profiles), check_lod_ratios(params.lod_ratios)


def fov_request(params: pb.GenerateParams) -> float | None:
    """The requested vertical field of view (0 = orthographic), None when unset (read it from EXIF)."""
    if not params.HasField("fov_deg"):
        return None
    return float(check_limit("fov_deg", params.fov_deg))


def parameters_dict(rec: ReconstructParams, dec: DecimateParams, profiles: tuple[str, ...], lods: tuple[float, ...],
                    inputs: dict | None = None) -> dict:
    """The full, resolved parameters recorded with a version (and hashed for idempotence).

    inputs: extra inputs (views, depth map by sha256, the field of view used) recorded only when present,
    so single-view versions keep their earlier keys.
    """
    return {**(inputs or {}), 
        "mode": rec.mode,
        "target_height_m": rec.target_height_m,
        "target_width_m": rec.target_width_m,
        "depth_m": rec.depth_m,
        "texture_size": rec.texture_size,
        "seed": rec.seed,
        "symmetry": rec.symmetry,
        **({"symmetric": True} if rec.symmetric else {}),  # only when asked: earlier versions keep their hash
        "target_faces": dec.target_faces,
        "profiles": list(profiles),
        "lod_ratios": list(lods),
    }


def _vec3(xyz) -> pb.Vec3:
    return pb.Vec3(x=xyz[0], y=xyz[1], z=xyz[2])


def stats_to_pb(stats: dict) -> pb.MeshStats:
    fields = {k: v for k, v in stats.items() if k not in ("bbox_min", "bbox_max")}
    return pb.MeshStats(bbox_min=_vec3(stats["bbox_min"]), bbox_max=_vec3(stats["bbox_max"]), **fields)


def stats_from_pb(msg: pb.MeshStats) -> dict:
    out = json_format.MessageToDict(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    for key in ("bbox_min", "bbox_max"):
        v = getattr(msg, key)
        out[key] = (v.x, v.y, v.z)
    for key in ("faces", "vertices"):
        out[key] = int(out[key])
    return out


def check_to_pb(check: dict) -> pb.Check:
    return pb.Check(**{**check, "level": LEVELS[check["level"]]})


def report_to_pb(report: dict) -> pb.ValidationReport:
    return pb.ValidationReport(
        profile=report["profile"],
        verdict=LEVELS[report["verdict"]],
        checks=[check_to_pb(c) for c in report["checks"]],
        stats=stats_to_pb(report["stats"]),
    )


def report_from_pb(msg: pb.ValidationReport) -> dict:
    return {
        "profile": msg.profile,
        "verdict": LEVEL_NAMES[msg.verdict],
        "checks": [
            {
                "id": c.id,
                "level": LEVEL_NAMES[c.level],
                "value": c.value,
                "threshold": c.threshold,
                "unit": c.unit,
                "message": c.message,
            }
            for c in msg.checks
        ],
        "stats": stats_from_pb(msg.stats),
    }


def repair_to_pb(log: dict) -> pb.RepairLog:
    return pb.RepairLog(**log)


def repair_from_pb(msg: pb.RepairLog) -> dict:
    out = json_format.MessageToDict(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    return {k: (v if k == "notes" else int(v)) for k, v in out.items()}


def timestamp(dt) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(dt)
    return ts


def struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


def artifact_to_pb(a) -> pb.Artifact:
    return pb.Artifact(kind=a.kind, lod=a.lod, sha256=a.sha256, size=a.size, media_type=a.media_type)


def version_to_pb(v) -> pb.Version:
    """registry.VersionRecord -> Version."""
    return pb.Version(
        asset=v.asset,
        number=v.number,
        created_at=timestamp(v.created_at),
        author=v.author,
        source_sha256=v.source_sha256,
        parameters=struct(v.parameters),
        backend=v.backend,
        backend_version=v.backend_version,
        seed=v.seed,
        mode=MODE_ENUMS.get(v.mode, pb.RECONSTRUCT_MODE_UNSPECIFIED),
        artifacts=[artifact_to_pb(a) for a in v.artifacts],
        stats=stats_to_pb(v.stats) if v.stats else None,
        reports=[report_to_pb(r) for r in v.reports],
        repair=repair_to_pb(v.repair) if v.repair else None,
        deprecated=v.deprecated,
        channels=list(v.channels),
        reused=v.reused,
        job_id=v.job_id or "",
        caption=getattr(v, "caption", None) or "",
        caption_tags=list(getattr(v, "caption_tags", ()) or ()),
    )


def channel_to_pb(c) -> pb.Channel:
    return pb.Channel(name=c.name, version=c.version, moved_by=c.moved_by, moved_at=timestamp(c.moved_at))


def asset_to_pb(a) -> pb.Asset:
    """registry.AssetRecord -> Asset."""
    return pb.Asset(
        name=a.name,
        description=a.description,
        tags=list(a.tags),
        created_at=timestamp(a.created_at),
        version_count=a.version_count,
        latest=version_to_pb(a.latest) if a.latest else None,
        channels=[channel_to_pb(c) for c in a.channels],
    )


def _json(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True)


def diff_to_pb(d) -> assets_pb2.DiffVersionsResponse:
    """registry.VersionDiff -> DiffVersionsResponse."""
    return assets_pb2.DiffVersionsResponse(
        asset=d.asset,
        a=d.a,
        b=d.b,
        metrics=[assets_pb2.MetricDelta(name=m.name, before=m.before, after=m.after) for m in d.metrics],
        parameters=[assets_pb2.ParameterChange(key=p.key, before_json=_json(p.before), after_json=_json(p.after))
                    for p in d.parameters],
        checks=[assets_pb2.CheckChange(profile=c.profile, check_id=c.check_id, before=LEVELS.get(c.before, 0),
                                       after=LEVELS.get(c.after, 0)) for c in d.checks],
        artifacts_changed=list(d.artifacts_changed),
        lineage=[assets_pb2.LineageChange(field=c.field, before=c.before, after=c.after) for c in d.lineage],
    )


def diff_from_pb(msg: assets_pb2.DiffVersionsResponse):
    """DiffVersionsResponse -> registry.VersionDiff (its `backend` summary pair does not travel: `lineage` does)."""
    def side(m, name):
        return getattr(m, name) if m.HasField(name) else None

    metrics = []
    for m in msg.metrics:
        before, after = side(m, "before"), side(m, "after")
        metrics.append(MetricDelta(m.name, before, after, None if before is None or after is None else after - before))
    params = tuple(ParamChange(p.key, json.loads(p.before_json) if p.before_json else None,
                               json.loads(p.after_json) if p.after_json else None) for p in msg.parameters)
    checks = tuple(CheckChange(c.profile, c.check_id, LEVEL_NAMES.get(c.before), LEVEL_NAMES.get(c.after))
                   for c in msg.checks)
    lineage = tuple(LineageChange(c.field, c.before, c.after) for c in msg.lineage)
    return VersionDiff(msg.asset, msg.a, msg.b, tuple(metrics), params, checks, None, tuple(msg.artifacts_changed),
                       lineage)


def lock_to_pb(lock: dict) -> assets_pb2.ResolveLockResponse:
    """The registry's lockfile dict -> ResolveLockResponse (one entry per locked name/LOD)."""
    entries = []
    for key, e in lock["assets"].items():
        entries.append(assets_pb2.LockEntry(
            asset=key.split("#")[0], version=e["version"], sha256=e["sha256"], size=e["size"], lod=e["lod"],
            url=e["url"], integrity=e["integrity"], spec=f"{key.split('#')[0]}@{e['ref']}",
        ))
    return assets_pb2.ResolveLockResponse(entries=entries)


def audit_event_to_pb(e) -> assets_pb2.AuditEvent:
    return assets_pb2.AuditEvent(id=e.id, at=timestamp(e.at), actor=e.actor, action=e.action, asset=e.asset or "",
                                 version=e.version or 0, channel=e.channel or "", detail_json=_json(e.detail))


def print_params(request: assets_pb2.ExportVersionRequest, fmt: str) -> PrintParams:
    """ExportVersionRequest's sizing fields, checked (InvalidInput lists the valid printers and forms)."""
    limits.check_message(request)
    p = PrintParams(scale=request.scale, height_mm=request.height_mm, max_mm=request.max_mm, fit=request.fit,
                    bed=request.bed, orient=request.orient,
                    margin_mm=request.margin_mm if request.HasField("margin_mm") else DEFAULT_MARGIN_MM)
    check_params(p, fmt)
    return p


def relief_params(params: pb.GenerateParams):
    """GenerateParams.relief -> reconstruct.relief.ReliefParams, or None when no millimetre option is set."""
    from reconstruct.relief import ReliefParams  # noqa: PLC0415

    if not params.HasField("relief"):
        return None
    r = params.relief
    if params.mode != pb.RECONSTRUCT_MODE_RELIEF:
        raise InvalidInput("relief options (width_mm, min_mm, max_mm, frame_mm, invert) need mode relief")
    if r.max_mm and r.min_mm and r.max_mm <= r.min_mm:
        raise InvalidInput(f"relief max_mm ({r.max_mm:g}) must be above min_mm ({r.min_mm:g})")
    return ReliefParams(width_mm=r.width_mm or None, min_mm=r.min_mm or None, max_mm=r.max_mm or None,
                        frame_mm=r.frame_mm, invert=r.invert)


def relief_record(params: pb.GenerateParams) -> dict | None:
    """The relief plate's millimetre options as a version records them in its parameters (and so in its
    idempotence key); None when none is set, so versions made without them keep their keys."""
    rp = relief_params(params)
    if rp is None or not (rp.in_mm or rp.invert):
        return None
    return {"width_mm": rp.width_mm, "min_mm": rp.min_mm, "max_mm": rp.max_mm, "frame_mm": rp.frame_mm,
            "invert": rp.invert}


def backend_to_pb(b) -> ingest_pb2.BackendInfo:
    """reconstruct.learned.Availability -> BackendInfo."""
    return ingest_pb2.BackendInfo(name=b.name, produces=b.produces, available=b.available, reason=b.reason,
                                  model_id=b.model_id, revision=b.revision, weights_sha256=b.weights_sha256,
                                  device=b.device, loads=b.loads)

"""What each kind of durable job runs in a worker and how its output becomes a version."""

from __future__ import annotations

import hashlib

from google.protobuf import json_format

from meshsmith import limits
from meshsmith.errors import FailedPrecondition, MeshsmithError, NotFound
from meshsmith.v1 import types_pb2 as pb
from reconstruct.learned.base import CLASSICAL, HOSTED
from registry import NewArtifact, NewVersion, Registry
from server import convert, sizing
from server.jobs import JobKind
from server.pipeline import GenerateJob, ImportJob, Output, picture_fov, runs_models
from validation.decimate import DecimateParams
from validation.formats import MEDIA_TYPES as FORMAT_MEDIA_TYPES
from validation.formats import MeshLimits
from validation.repair import RepairParams
from validation.units import check_units, check_up
from server.settings import Settings
from server.backends import backend_name, learned_config

BACKEND = CLASSICAL
BACKEND_VERSION = "0.1.0"
# Mesh formats' media types come from validation; these are the other artifact kinds a version stores.
MEDIA_TYPES = {**FORMAT_MEDIA_TYPES, "preview": "image/png", "turntable": "image/webp", "lods": "application/json"}
# Inputs stored with a version besides "source" (the front image): "source-view" (lod = view 1..5), "source-depth".


def sniff_image_type(data: bytes) -> str:
    for magic, media in ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"RIFF", "image/webp"), (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return media
    return "application/octet-stream"


def generate_request(params: pb.GenerateParams, views=(), depth: tuple[str, str] | None = None) -> dict:
    """What a generate job row stores to run again after a restart.

    views: (label, sha256) of the extra pictures, depth: (sha256, units); their bytes are blobs, stored
    before the job row, so a restarted server runs the job again with every input.
    """
    request = {"params": json_format.MessageToDict(params, preserving_proto_field_name=True)}
    if views:
        request["views"] = [{"label": label, "sha256": sha} for label, sha in views]
    if depth is not None:
        request["depth"] = {"sha256": depth[0], "units": depth[1]}
    return request


def _extra_inputs(registry: Registry, request: dict) -> tuple[tuple[tuple[str, bytes], ...], bytes | None, str]:
    """The extra views' and the depth map's bytes back from the blob store."""
    def blob(sha: str, what: str) -> bytes:
        try:
            return registry.blobs.existing_path(sha).read_bytes()
        except (MeshsmithError, OSError):
            raise MeshsmithError(f"the job's {what} is gone from the blob store; send the request again") from None

    views = tuple((v["label"], blob(v["sha256"], f"view {v['label']!r}")) for v in request.get("views", ()))
    depth = request.get("depth")
    return views, (blob(depth["sha256"], "depth map") if depth else None), (depth or {}).get("units", "m")


def _inputs_record(request: dict, out: Output | None) -> dict:
    """The extra inputs a version records in its parameters (and so in its idempotence key, except a hosted
    backend's: _hosted_key); a learned backend's lineage (name, model id, revision, weights sha256, device) goes
    in too, under "backend", and relief millimetre options under "relief". out None: the request's part only."""
    inputs = {key: request[key] for key in ("views", "depth") if key in request}
    relief = convert.relief_record(json_format.ParseDict(request["params"], pb.GenerateParams()))
    if relief is not None:
        inputs["relief"] = relief
    if getattr(out, "fov_deg", 0.0):
        inputs["fov_deg"] = out.fov_deg
    if getattr(out, "backend", None):
        inputs["backend"] = out.backend
    if getattr(out, "caption", None):
        inputs["caption_model"] = out.caption["lineage"]
    if getattr(out, "segment", None):
        inputs["segment_model"] = out.segment
    if getattr(out, "cutout", None):
        inputs["cutout"] = out.cutout
    return inputs


def _backend_record(out: Output) -> tuple[str, str]:
    """(versions.backend, versions.backend_version): the geometry code, or the learned backend and its model."""
    lineage = getattr(out, "backend", None)
    if not lineage:
        return BACKEND, BACKEND_VERSION
    return lineage["name"], f"{lineage['model_id']}@{lineage['revision']}"[-100:]


def size_basis(registry: Registry, asset: str, params: pb.GenerateParams) -> sizing.SizeBasis:
    """Where a generate job's size comes from: the request's own sizes win; what it leaves out comes from the
    asset's latest version (its real size, or its assumed one, still assumed); a new asset's is assumed (1 m).
    Read when the job starts (a restarted job reads it again: its own version does not exist yet)."""
    relief = convert.relief_params(params)
    scale_given = (params.HasField("target_height_m") or params.HasField("target_width_m")
                   or (relief is not None and relief.in_mm))
    depth_given = params.HasField("depth_m")
    if scale_given and depth_given:
        return sizing.SizeBasis()
    try:
        latest = registry.resolve(asset, "latest")
    except (NotFound, FailedPrecondition):  # a new asset, or every version deprecated
        latest = None
    prior = sizing.prior_size(latest) if latest is not None else None
    return sizing.choose(scale_given, depth_given, convert.MODES.get(params.mode, "auto"), prior)


def _hosted_key(settings: Settings, learned, rec, data: bytes,
                basis: sizing.SizeBasis) -> tuple[str, dict, str, int] | None:
    """For a hosted backend (reconstruct.learned.base.HOSTED): (backend, parameters, backend version, seed) its
    version's idempotence key is made of, all known before the vendor is called: the resolved request, the
    picture's field of view and the vendor's model (RemoteConfig.lineage). The task id, the download's sha256
    and the caption / segmentation models' lineage are recorded on the version, not keyed. None otherwise."""
    params = json_format.ParseDict(rec.request["params"], pb.GenerateParams())
    name = backend_name(params)
    if name not in HOSTED:
        return None
    rec_params, dec, profiles, lods = _generate_params(settings, rec.request)
    inputs = _inputs_record(rec.request, None)
    fov = picture_fov(data, convert.fov_request(params))
    if fov:
        inputs["fov_deg"] = fov
    inputs["backend"] = learned.remote.lineage()
    parameters = convert.parameters_dict(basis.apply(rec_params), dec, profiles, lods, inputs)
    if basis.source == "assumed":  # keyed as a stored version is (sizing.keyed): its note is only known after the work
        parameters["size_assumed"] = True
    return name, parameters, learned.remote.model_id, rec_params.seed


def _extra_artifacts(registry: Registry, request: dict) -> list[NewArtifact]:
    views, depth, _ = _extra_inputs(registry, request)
    arts = [NewArtifact("source-view", i, data, sniff_image_type(data)) for i, (_, data) in enumerate(views, start=1)]
    if depth is not None:
        arts.append(NewArtifact("source-depth", 0, depth, "image/tiff" if depth[:2] in (b"II", b"MM") else sniff_image_type(depth)))
    return arts


def _generate_params(settings: Settings, request: dict):
    params = json_format.ParseDict(request["params"], pb.GenerateParams())
    return convert.generate_params(params, settings.default_faces)


def _artifacts(source: bytes, source_type: str, out: Output) -> tuple[NewArtifact, ...]:
    arts = [NewArtifact("source", 0, source, source_type), NewArtifact("glb", 0, out.glb, MEDIA_TYPES["glb"])]
    for lod, glb in enumerate(getattr(out, "lods", ()) or (), start=1):
        arts.append(NewArtifact("glb", lod, glb, MEDIA_TYPES["glb"]))
    if getattr(out, "manifest", None):
        arts.append(NewArtifact("lods", 0, out.manifest, MEDIA_TYPES["lods"]))
    if out.preview_png:
        arts.append(NewArtifact("preview", 0, out.preview_png, MEDIA_TYPES["preview"]))
    if out.turntable_webp:
        arts.append(NewArtifact("turntable", 0, out.turntable_webp, MEDIA_TYPES["turntable"]))
    return tuple(arts)


def generate_kind(settings: Settings, registry: Registry) -> JobKind:
    image_limits = settings.image_limits
    learned = learned_config(settings)

    def payload(rec, data: bytes) -> GenerateJob:
        """(runs in a thread: it reads the asset's latest version for its size)"""
        rec_params, dec, profiles, lods = _generate_params(settings, rec.request)
        params = json_format.ParseDict(rec.request["params"], pb.GenerateParams())
        views, depth, units = _extra_inputs(registry, rec.request)
        basis = size_basis(registry, rec.asset, params)
        return GenerateJob(image=data, reconstruct=basis.apply(rec_params), decimate=dec, profiles=profiles,
                           limits=image_limits, lod_ratios=lods, previews=settings.previews, views=views, depth=depth,
                           depth_units=units, fov_deg=convert.fov_request(params), relief=convert.relief_params(params),
                           backend=backend_name(params), learned=learned, size=basis)

    def precall(rec, data: bytes) -> NewVersion | None:
        """A hosted backend's version as far as it is known before the vendor is called (its key fields only)."""
        params = json_format.ParseDict(rec.request["params"], pb.GenerateParams())
        if backend_name(params) not in HOSTED:
            return None
        known = _hosted_key(settings, learned, rec, data, size_basis(registry, rec.asset, params))
        if known is None:
            return None
        name, parameters, model, seed = known
        return NewVersion(
            asset=rec.asset, author=rec.author, source_sha256=hashlib.sha256(data).hexdigest(), parameters=parameters,
            backend=name, backend_version=model, seed=seed, mode="", artifacts=(), stats={}, reports=(), repair={},
            request_id=rec.request_id, job_id=rec.id, caller=rec.caller, key_parameters=parameters,
            key_backend_version=model)

    def store(rec, data: bytes, out: Output):
        rec_params, dec, profiles, lods = _generate_params(settings, rec.request)
        backend, backend_version = _backend_record(out)
        basis = getattr(out, "size_basis", None) or sizing.SizeBasis()  # the sizes the job ran with
        known = _hosted_key(settings, learned, rec, data, basis)
        parameters = convert.parameters_dict(basis.apply(rec_params), dec, profiles, lods, _inputs_record(rec.request, out))
        if getattr(out, "size", None):
            parameters["size"] = out.size
        if getattr(out, "quality", None):  # server.quality: the back inferred or seen (not part of the key)
            parameters["quality"] = out.quality
        return registry.create_version(NewVersion(
            asset=rec.asset,
            author=rec.author,
            source_sha256=hashlib.sha256(data).hexdigest(),
            parameters=parameters,
            backend=backend,
            backend_version=backend_version,
            caption=(out.caption or {}).get("text"),
            caption_tags=tuple((out.caption or {}).get("tags", ())),
            seed=rec_params.seed,
            mode=out.mode,
            artifacts=_artifacts(data, sniff_image_type(data), out) + tuple(_extra_artifacts(registry, rec.request)),
            stats=out.stats,
            reports=out.reports,
            repair=out.repair,
            request_id=rec.request_id,
            job_id=rec.id,
            caller=rec.caller,
            key_parameters=known[1] if known else sizing.keyed({k: v for k, v in parameters.items() if k != "quality"}),
            key_backend_version=known and known[2],
        ))

    return JobKind(task="generate", payload=payload, store=store, version_pb=convert.version_to_pb,
                   runs_models=runs_models, precall=precall)


def import_request(request) -> dict:
    """What an import job row stores (ImportRequest minus the bytes), validated against meshsmith.limits."""
    limits.check_message(request)
    return {
        "filename": request.filename if "." in request.filename else f"mesh.{request.filename}",
        "target_faces": request.target_faces or None,
        "lod_ratios": list(convert.check_lod_ratios(request.lod_ratios)),
        "profiles": list(convert.check_profiles(request.profiles)),
        "watertight": request.watertight,
        "unit_scale": request.unit_scale if request.HasField("unit_scale") else None,
        "units": check_units(request.units) if request.units else "",
        "up": check_up(request.up) if request.up else "",
        "keep_origin": request.keep_origin,
        "printable": request.printable,
        "solidify_mm": request.solidify_mm,
    }


def import_kind(settings: Settings, registry: Registry) -> JobKind:
    mesh_limits = MeshLimits(max_bytes=settings.max_mesh_bytes, max_faces=settings.max_faces)

    def payload(rec, data: bytes) -> ImportJob:
        r = rec.request
        return ImportJob(
            mesh=data, filename=r["filename"],
            decimate=DecimateParams(target_faces=r["target_faces"]) if r["target_faces"] else None,
            repair=RepairParams(watertight=r["watertight"], printable=r.get("printable", False),
                                solidify_m=r.get("solidify_mm", 0.0) / 1000.0), unit_scale=r["unit_scale"],
            units=r.get("units", ""), up=r.get("up", ""),
            profiles=tuple(r["profiles"]), limits=mesh_limits, lod_ratios=tuple(r["lod_ratios"]), previews=settings.previews,
            keep_origin=r.get("keep_origin", False),
        )

    def store(rec, data: bytes, out: Output):
        return registry.create_version(NewVersion(
            asset=rec.asset, author=rec.author, source_sha256=hashlib.sha256(data).hexdigest(),
            parameters={"import": rec.request}, backend="import", backend_version=BACKEND_VERSION, seed=0,
            mode="import", artifacts=_artifacts(data, "application/octet-stream", out), stats=out.stats,
            reports=out.reports, repair=out.repair, request_id=rec.request_id, job_id=rec.id,
            caller=rec.caller,
        ))

    return JobKind(task="import", payload=payload, store=store, version_pb=convert.version_to_pb)

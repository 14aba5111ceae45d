"""What each kind of durable job runs in a worker and how its output becomes a version."""

from __future__ import annotations

import hashlib

from google.protobuf import json_format

from meshsmith import limits
from meshsmith.v1 import types_pb2 as pb
from reconstruct.image import ImageLimits
from registry import NewArtifact, NewVersion, Registry
from server import convert
from server.jobs import JobKind
from server.pipeline import GenerateJob, ImportJob, Output
from validation.decimate import DecimateParams
from validation.formats import MEDIA_TYPES as FORMAT_MEDIA_TYPES
from validation.formats import MeshLimits
from validation.repair import RepairParams
from validation.units import check_units, check_up
from server.settings import Settings

BACKEND = "geometry"
BACKEND_VERSION = "0.1.0"
# Mesh formats' media types come from validation; these are the other artifact kinds a version stores.
MEDIA_TYPES = {**FORMAT_MEDIA_TYPES, "preview": "image/png", "turntable": "image/webp", "lods": "application/json"}


def sniff_image_type(data: bytes) -> str:
    for magic, media in ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"RIFF", "image/webp"), (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return media
    return "application/octet-stream"


def generate_request(params: pb.GenerateParams) -> dict:
    """What a generate job row stores to run again after a restart."""
    return {"params": json_format.MessageToDict(params, preserving_proto_field_name=True)}


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
    image_limits = ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)

    def payload(rec, data: bytes) -> GenerateJob:
        rec_params, dec, profiles, lods = _generate_params(settings, rec.request)
        relief = convert.relief_params(json_format.ParseDict(rec.request["params"], pb.GenerateParams()))
        return GenerateJob(image=data, reconstruct=rec_params, decimate=dec, profiles=profiles, limits=image_limits,
                           lod_ratios=lods, previews=settings.previews, relief=relief)

    def store(rec, data: bytes, out: Output):
        rec_params, dec, profiles, lods = _generate_params(settings, rec.request)
        return registry.create_version(NewVersion(
            asset=rec.asset,
            author=rec.author,
            source_sha256=hashlib.sha256(data).hexdigest(),
            parameters=convert.parameters_dict(rec_params, dec, profiles, lods),
            backend=BACKEND,
            backend_version=BACKEND_VERSION,
            seed=rec_params.seed,
            mode=out.mode,
            artifacts=_artifacts(data, sniff_image_type(data), out),
            stats=out.stats,
            reports=out.reports,
            repair=out.repair,
            request_id=rec.request_id,
            job_id=rec.id,
        ))

    return JobKind(task="generate", payload=payload, store=store, version_pb=convert.version_to_pb)


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
    }


def import_kind(settings: Settings, registry: Registry) -> JobKind:
    mesh_limits = MeshLimits(max_bytes=settings.max_mesh_bytes, max_faces=settings.max_faces)

    def payload(rec, data: bytes) -> ImportJob:
        r = rec.request
        return ImportJob(
            mesh=data, filename=r["filename"],
            decimate=DecimateParams(target_faces=r["target_faces"]) if r["target_faces"] else None,
            repair=RepairParams(watertight=r["watertight"]), unit_scale=r["unit_scale"],
            units=r.get("units", ""), up=r.get("up", ""),
            profiles=tuple(r["profiles"]), limits=mesh_limits, lod_ratios=tuple(r["lod_ratios"]), previews=settings.previews,
        )

    def store(rec, data: bytes, out: Output):
        return registry.create_version(NewVersion(
            asset=rec.asset, author=rec.author, source_sha256=hashlib.sha256(data).hexdigest(),
            parameters={"import": rec.request}, backend="import", backend_version=BACKEND_VERSION, seed=0,
            mode="import", artifacts=_artifacts(data, "application/octet-stream", out), stats=out.stats,
            reports=out.reports, repair=out.repair, request_id=rec.request_id, job_id=rec.id,
        ))

    return JobKind(task="import", payload=payload, store=store, version_pb=convert.version_to_pb)

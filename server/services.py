"""gRPC servicers: thin adapters, proto -> domain -> proto."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid

import grpc

from meshsmith.errors import InvalidInput, NotFound
from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from reconstruct.image import ImageLimits
from registry import HistoryQuery, NewArtifact, NewVersion, Registry, check_asset_name
from server import convert
from server.pipeline import GenerateJob, ValidateJob
from server.settings import Settings
from server.status import abort, streaming, unary
from server.workers import WorkerPool
from validation.formats import MeshLimits

log = logging.getLogger("meshsmith.server")

BACKEND = "geometry"
BACKEND_VERSION = "0.1.0"
MIN_CHUNK, MAX_CHUNK = 256 * 1024, 1024 * 1024
MEDIA_TYPES = {
    "glb": "model/gltf-binary",
    "preview": "image/png",
    "turntable": "image/webp",
    "obj": "model/obj",
    "stl": "model/stl",
    "3mf": "model/3mf",
}


def _event(job_id: str, seq: int, started: float, stage: str, fraction: float, message: str, **payload) -> ingest_pb2.GenerateResponse:
    return ingest_pb2.GenerateResponse(
        event=pb.JobEvent(
            job_id=job_id,
            sequence=seq,
            stage=stage,
            fraction=fraction,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            message=message,
            **payload,
        )
    )


def _sniff_image_type(data: bytes) -> str:
    for magic, media in ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"RIFF", "image/webp"), (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return media
    return "application/octet-stream"


class IngestService(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(self, settings: Settings, registry: Registry, pool: WorkerPool):
        self.settings = settings
        self.registry = registry
        self.pool = pool
        self.limits = ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)

    @streaming
    async def Generate(self, request: ingest_pb2.GenerateRequest, context: grpc.aio.ServicerContext):
        asset = check_asset_name(request.asset)
        if not request.image:
            raise InvalidInput("the image is empty: send the bytes of a PNG, JPEG or WebP file")
        if len(request.image) > self.limits.max_bytes:
            raise InvalidInput(
                f"the image is {len(request.image)} bytes; the limit is {self.limits.max_bytes} — downscale it"
            )
        rec, dec, profiles = convert.generate_params(request.params, self.settings.default_faces)
        job_id = uuid.uuid4().hex
        started = time.monotonic()
        seq = 0
        yield _event(job_id, seq, started, "queued", 0.0, f"job {job_id} queued")
        job = GenerateJob(
            image=request.image,
            reconstruct=rec,
            decimate=dec,
            profiles=profiles,
            limits=self.limits,
            previews=self.settings.previews,
        )
        out = None
        try:
            async for kind, data in self.pool.stream("generate", job):
                seq += 1
                if kind == "progress":
                    stage, fraction, message = data
                    yield _event(job_id, seq, started, stage, fraction, message)
                else:
                    out = data
        except Exception as err:
            status = getattr(err, "status", "INTERNAL")
            message = getattr(err, "message", "internal error; see server log")
            yield _event(job_id, seq + 1, started, "failed", 1.0, message, error=pb.Error(code=status, message=message))
            await abort(context, err)
        if out.preview_png:
            seq += 1
            yield _event(job_id, seq, started, "preview", 0.95, "preview", preview=pb.Preview(media_type="image/png", data=out.preview_png))
        artifacts = [
            NewArtifact("source", 0, request.image, _sniff_image_type(request.image)),
            NewArtifact("glb", 0, out.glb, MEDIA_TYPES["glb"]),
        ]
        if out.preview_png:
            artifacts.append(NewArtifact("preview", 0, out.preview_png, MEDIA_TYPES["preview"]))
        if out.turntable_webp:
            artifacts.append(NewArtifact("turntable", 0, out.turntable_webp, MEDIA_TYPES["turntable"]))
        new = NewVersion(
            asset=asset,
            author=request.author or "anonymous",
            source_sha256=hashlib.sha256(request.image).hexdigest(),
            parameters=convert.parameters_dict(rec, dec, profiles),
            backend=BACKEND,
            backend_version=BACKEND_VERSION,
            seed=rec.seed,
            mode=out.mode,
            artifacts=tuple(artifacts),
            stats=out.stats,
            reports=out.reports,
            repair=out.repair,
            request_id=request.request_id or None,
            job_id=job_id,
        )
        version = await asyncio.to_thread(self.registry.create_version, new)
        word = "reused existing" if version.reused else "stored"
        log.info("job %s: %s %s@%d", job_id, word, asset, version.number)
        yield _event(
            job_id, seq + 1, started, "done", 1.0, f"{word} {asset}@{version.number}", version=convert.version_to_pb(version)
        )

    @unary
    async def Validate(self, request: ingest_pb2.ValidateRequest, context) -> ingest_pb2.ValidateResponse:
        if not request.mesh:
            raise InvalidInput("the mesh is empty: send the bytes of a GLB, OBJ, STL, PLY or OFF file")
        if not request.filename:
            raise InvalidInput("filename is required to tell the format, e.g. 'chair.glb' or 'stl'")
        filename = request.filename if "." in request.filename else f"mesh.{request.filename}"
        limits = MeshLimits(max_bytes=self.settings.max_mesh_bytes, max_faces=self.settings.max_faces)
        job = ValidateJob(mesh=request.mesh, filename=filename, profiles=tuple(request.profiles), limits=limits)
        stats, reports = await self.pool.run("validate", job)
        return ingest_pb2.ValidateResponse(
            stats=convert.stats_to_pb(stats), reports=[convert.report_to_pb(r) for r in reports]
        )


class AssetService(assets_pb2_grpc.AssetServiceServicer):
    def __init__(self, registry: Registry):
        self.registry = registry

    @unary
    async def GetAsset(self, request, context) -> assets_pb2.GetAssetResponse:
        asset = await asyncio.to_thread(self.registry.get_asset, check_asset_name(request.asset))
        return assets_pb2.GetAssetResponse(asset=convert.asset_to_pb(asset))

    @unary
    async def ListVersions(self, request, context) -> assets_pb2.ListVersionsResponse:
        query = HistoryQuery(
            limit=request.page_size or 100,
            before_number=request.before_number or None,
            author=request.author or None,
            since=request.since.ToDatetime(tzinfo=convert.UTC) if request.HasField("since") else None,
            until=request.until.ToDatetime(tzinfo=convert.UTC) if request.HasField("until") else None,
            channel=request.channel or None,
            profile=request.profile or None,
            verdict=convert.LEVEL_NAMES.get(request.verdict),
        )
        versions = await asyncio.to_thread(self.registry.history, check_asset_name(request.asset), query)
        return assets_pb2.ListVersionsResponse(versions=[convert.version_to_pb(v) for v in versions])

    @streaming
    async def PullArtifact(self, request, context):
        asset = check_asset_name(request.asset)
        version = await asyncio.to_thread(self.registry.resolve, asset, request.ref or "latest")
        kind = request.kind or "glb"
        found = [a for a in version.artifacts if a.kind == kind and a.lod == request.lod]
        if not found:
            have = ", ".join(sorted(f"{a.kind}" + (f" lod {a.lod}" if a.lod else "") for a in version.artifacts))
            raise NotFound(f"{asset}@{version.number} has no {kind} artifact at lod {request.lod}; it has: {have}")
        artifact = found[0]
        chunk = min(max(request.chunk_size or MAX_CHUNK, MIN_CHUNK), MAX_CHUNK)
        path = self.registry.blob_path(artifact.sha256)
        yield assets_pb2.PullArtifactResponse(
            header=assets_pb2.PullHeader(version=convert.version_to_pb(version), artifact=convert.artifact_to_pb(artifact))
        )
        with open(path, "rb") as f:
            while data := f.read(chunk):
                yield assets_pb2.PullArtifactResponse(chunk=data)

"""AssetService: reads for game builds and artists (history, pulls, search, diff, lock, export)."""

from __future__ import annotations

import asyncio

import hashlib
import json

from meshsmith.errors import FailedPrecondition, InvalidInput, NotFound
from meshsmith.limits import quote
from meshsmith.v1 import assets_pb2, assets_pb2_grpc
from registry import HistoryQuery, Registry, check_asset_name
from server import convert
from server.pipeline import ExportJob
from server.status import streaming, unary
from server.url_signing import DEFAULT_TTL_S
from validation.formats import EXPORTERS, MEDIA_TYPES

MIN_CHUNK, MAX_CHUNK = 256 * 1024, 1024 * 1024
# ExportVersion's trailing metadata: JSON of what the print sizing chose (validation.print_export.describe)
PLACEMENT_TRAILER = "meshsmith-placement"


def find_artifact(version, kind: str, lod: int):
    for a in version.artifacts:
        if a.kind == kind and a.lod == lod:
            return a
    have = ", ".join(sorted(a.kind + (f" lod {a.lod}" if a.lod else "") for a in version.artifacts))
    raise NotFound(f"{version.asset}@{version.number} has no {kind} artifact at lod {lod}; it has: {have}")


def read_chunks(path, chunk: int):
    with open(path, "rb") as f:
        while data := f.read(chunk):
            yield data


class AssetService(assets_pb2_grpc.AssetServiceServicer):
    def __init__(self, registry: Registry, pool, http_base: str = "", metrics=None, auth=None, signer=None):
        """With `auth` (keys required) and `signer`, ResolveLock's URLs are signed with the caller's key."""
        self.registry = registry
        self.pool = pool
        self.http_base = http_base
        self.metrics = metrics
        self.auth = auth
        self.signer = signer

    @unary
    async def GetAsset(self, request, context):
        asset = await asyncio.to_thread(self.registry.get_asset, check_asset_name(request.asset))
        return assets_pb2.GetAssetResponse(asset=convert.asset_to_pb(asset))

    @unary
    async def ListVersions(self, request, context):
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
        artifact = find_artifact(version, request.kind or "glb", request.lod)
        chunk = min(max(request.chunk_size or MAX_CHUNK, MIN_CHUNK), MAX_CHUNK)
        path = self.registry.blob_path(artifact.sha256)
        yield assets_pb2.PullArtifactResponse(
            header=assets_pb2.PullHeader(version=convert.version_to_pb(version), artifact=convert.artifact_to_pb(artifact))
        )
        for data in read_chunks(path, chunk):
            if self.metrics:
                self.metrics.bytes_pulled(len(data), "grpc")
            yield assets_pb2.PullArtifactResponse(chunk=data)

    @streaming
    async def ExportVersion(self, request, context):
        fmt = (request.format or "stl").lower()
        if fmt not in EXPORTERS:
            raise InvalidInput(f"unknown export format {quote(fmt)}; use one of {', '.join(EXPORTERS)}")
        convert.print_params(request, fmt)  # bad sizing is refused before any lookup
        version = await asyncio.to_thread(self.registry.resolve, check_asset_name(request.asset), request.ref or "latest")
        glb = await asyncio.to_thread(self.registry.blob_path(find_artifact(version, "glb", request.lod).sha256).read_bytes)
        try:
            exported = await self.pool.run("export", ExportJob(glb=glb, format=fmt,
                                                               sizing=convert.print_params(request, fmt)))
        except FailedPrecondition as err:  # the stored mesh does not allow it (orient auto on a flat one)
            raise FailedPrecondition(f"{version.asset}@{version.number}: {err.message}") from None
        data = exported.data
        if exported.placement:  # what the sizing chose (scale, size, pose, bed): a trailer, the proto has no field
            context.set_trailing_metadata(((PLACEMENT_TRAILER, json.dumps(exported.placement, sort_keys=True)),))
        artifact = convert.pb.Artifact(kind=fmt, lod=request.lod, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                       media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"))
        yield assets_pb2.ExportVersionResponse(
            header=assets_pb2.PullHeader(version=convert.version_to_pb(version), artifact=artifact))
        for i in range(0, len(data), MAX_CHUNK):
            yield assets_pb2.ExportVersionResponse(chunk=data[i : i + MAX_CHUNK])

    @unary
    async def SearchAssets(self, request, context):
        found = await asyncio.to_thread(self.registry.search, request.prefix, tuple(request.tags), request.limit or 50,
                                        request.text)
        return assets_pb2.SearchAssetsResponse(assets=[convert.asset_to_pb(a) for a in found])

    @unary
    async def DiffVersions(self, request, context):
        diff = await asyncio.to_thread(self.registry.diff, check_asset_name(request.asset), request.ref_a, request.ref_b)
        return convert.diff_to_pb(diff)

    @unary
    async def ResolveLock(self, request, context):
        lock = await asyncio.to_thread(self.registry.lock, list(request.specs), request.base_url or self.http_base)
        if self.auth is not None and self.signer is not None:
            kid = (await self.auth.caller(context)).key_id
            for entry in lock["assets"].values():
                path = f"/blobs/{entry['sha256']}"
                entry["url"] = entry["url"].removesuffix(path) + self.signer.sign(path, kid, request.url_expires_s or DEFAULT_TTL_S)
        return convert.lock_to_pb(lock)

    @unary
    async def ListAuditEvents(self, request, context):
        asset = check_asset_name(request.asset) if request.asset else None
        events = await asyncio.to_thread(self.registry.audit_log, asset, request.limit or 100)
        return assets_pb2.ListAuditEventsResponse(events=[convert.audit_event_to_pb(e) for e in events])

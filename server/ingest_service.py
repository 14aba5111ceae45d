"""IngestService: Generate, Import, Validate, Upload, BatchGenerate — thin adapters over jobs and workers."""

from __future__ import annotations

import asyncio
import hashlib

import grpc

from meshsmith import limits
from meshsmith.errors import BY_STATUS, InvalidInput, MeshsmithError
from meshsmith.limits import check_choice
from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc
from reconstruct.cameras import parse_label
from reconstruct.rgbd import decode_depth
from registry import check_asset_name
from server import convert
from server.auth import Authenticator, Identity
from server.backends import learned_config, list_backends, resolve_backend
from server.cutout_task import CutoutJob
from server.job_kinds import generate_request, import_request
from server.jobs import JobManager
from server.pipeline import ValidateJob
from server.settings import Settings
from server.status import streaming, unary
from server.uploads import UploadStore
from server.workers import WorkerPool
from validation.formats import MeshLimits


def error_of(event) -> MeshsmithError:
    err = BY_STATUS.get(event.error.code, MeshsmithError)(event.error.message)
    err.status = event.error.code
    return err


async def follow(jobs: JobManager, job_id: str, context: grpc.aio.ServicerContext, from_sequence: int = 0, who=None):
    """A job's events for an RPC (`who` must own it unless None); raises the job's error at the end;
    a passed deadline cancels the job."""
    try:
        async for event in jobs.watch(job_id, from_sequence, who):
            yield event
            if event.HasField("error"):
                raise error_of(event)
    except asyncio.CancelledError:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0.05:  # the caller's deadline passed: it no longer wants the result
            jobs.cancel_soon(job_id)
        raise


def _auto_note(reason: str) -> tuple[tuple[str, str], ...]:
    """The job's first event after "queued" when `--backend auto` chose: stage "backend", what and why. It is not
    part of the stored request, so a request naming the chosen backend is the same request (request ids too)."""
    return (("backend", reason),) if reason else ()


def upload_owner(caller: Identity) -> str:
    """Whom an upload belongs to: the key (by id: names need not be unique) with --auth, else the peer identity."""
    return f"key-id:{caller.key_id}" if caller.key_id else caller.name


def author_label(author: str, caller: Identity) -> str:
    """The version's author (history's `author`): the request's free-text label, stored as given, or the caller's
    identity name when it has none. It is only a label: the audit log's actor is always the caller (job.caller)."""
    return author or caller.name


class IngestService(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(self, settings: Settings, pool: WorkerPool, jobs: JobManager, uploads: UploadStore, auth: Authenticator):
        self.settings = settings
        self.pool = pool
        self.jobs = jobs
        self.uploads = uploads
        self.auth = auth

    async def _input(self, data: bytes, upload_id: str, what: str, limit: int, owner: str) -> bytes:
        """The bytes sent inline, or those of the caller's own upload (`owner`: upload_owner(caller))."""
        if data and upload_id:
            raise InvalidInput(f"send the {what} bytes or an upload_id, not both")
        if upload_id:
            data = await asyncio.to_thread(self.uploads.read, upload_id, owner)
        if not data:
            hint = "a PNG, JPEG or WebP file" if what == "image" else "a GLB, OBJ, STL, PLY or OFF file"
            raise InvalidInput(f"the {what} is empty: send the bytes of {hint}")
        if len(data) > limit:
            raise InvalidInput(f"the {what} is {len(data)} bytes; the limit is {limit} — make it smaller")
        return data

    @streaming
    async def Generate(self, request: ingest_pb2.GenerateRequest, context):
        asset = check_asset_name(request.asset)
        caller = await self.auth.caller(context)
        image = await self._input(request.image, request.upload_id, "image", self.settings.max_image_bytes,
                                  upload_owner(caller))
        convert.generate_params(request.params, self.settings.default_faces)  # reject bad parameters before queueing
        # a learned backend without its model: FAILED_PRECONDITION now; "auto" becomes the backend it chose
        params, chose = await asyncio.to_thread(resolve_backend, self.settings, request.params,
                                                bool(request.views) or request.HasField("depth"))
        views, depth = await self._extra_inputs(request, upload_owner(caller))
        rec, _ = await self.jobs.submit("generate", asset, author_label(request.author, caller), caller.name, image,
                                        generate_request(params, views, depth), request.request_id or None,
                                        notes=_auto_note(chose))
        async for event in follow(self.jobs, rec.id, context):
            yield ingest_pb2.GenerateResponse(event=event)

    async def _extra_inputs(self, request: ingest_pb2.GenerateRequest, owner: str):
        """Extra views and the depth map, checked and stored as blobs -> ([(label, sha256)], (sha256, units) | None)."""
        if request.views and request.HasField("depth"):
            raise InvalidInput("send extra views or a depth map, not both")
        mode = convert.MODES.get(request.params.mode)
        if (mode == "multiview" and not request.views) or (mode == "rgbd" and not request.HasField("depth")):
            raise InvalidInput(f"mode {mode} needs {'views' if mode == 'multiview' else 'a depth map'} in the request; "
                               "send them (the mode then follows) or pick another mode")
        views = []
        for v in request.views:
            parse_label(v.label)
            if not v.image and not v.upload_id:
                raise InvalidInput(f"view {v.label[:40]!r} has no picture: send its image bytes or an upload_id")
            data = await self._input(v.image, v.upload_id, f"view {v.label[:40]!r}", self.settings.max_image_bytes,
                                     owner)
            views.append((v.label, await asyncio.to_thread(self.jobs.registry.blobs.put, data)))
        depth = None
        if request.HasField("depth"):
            d = request.depth
            units = check_choice("depth_units", d.units or "m")
            if not d.data and not d.upload_id:
                raise InvalidInput("the depth map is empty: send a 16-bit PNG or 32-bit float TIFF, or an upload_id")
            data = await self._input(d.data, d.upload_id, "depth map", self.settings.max_image_bytes, owner)
            await asyncio.to_thread(decode_depth, data, self.settings.max_image_pixels)  # a colour picture fails here
            depth = (await asyncio.to_thread(self.jobs.registry.blobs.put, data), units)
        return views, depth

    @streaming
    async def Import(self, request: ingest_pb2.ImportRequest, context):
        asset = check_asset_name(request.asset)
        caller = await self.auth.caller(context)
        mesh = await self._input(request.mesh, request.upload_id, "mesh", self.settings.max_mesh_bytes,
                                 upload_owner(caller))
        if not request.filename:
            raise InvalidInput("filename is required to tell the format, e.g. 'chair.glb' or 'stl'")
        rec, _ = await self.jobs.submit("import", asset, author_label(request.author, caller), caller.name, mesh,
                                        import_request(request), request.request_id or None)
        async for event in follow(self.jobs, rec.id, context):
            yield ingest_pb2.ImportResponse(event=event)

    @unary
    async def Validate(self, request: ingest_pb2.ValidateRequest, context) -> ingest_pb2.ValidateResponse:
        owner = upload_owner(await self.auth.caller(context))
        mesh = await self._input(request.mesh, request.upload_id, "mesh", self.settings.max_mesh_bytes, owner)
        if not request.filename:
            raise InvalidInput("filename is required to tell the format, e.g. 'chair.glb' or 'stl'")
        filename = request.filename if "." in request.filename else f"mesh.{request.filename}"
        limits = MeshLimits(max_bytes=self.settings.max_mesh_bytes, max_faces=self.settings.max_faces)
        job = ValidateJob(mesh=mesh, filename=filename, profiles=convert.check_profiles(request.profiles), limits=limits,
                          repair=request.repair or request.printable or request.solidify_mm > 0, units=request.units,
                          up=request.up, printable=request.printable, solidify_mm=request.solidify_mm)
        stats, reports, repair, frame = await self.pool.run("validate", job)
        return ingest_pb2.ValidateResponse(
            frame=ingest_pb2.ReadFrame(**frame),
            stats=convert.stats_to_pb(stats),
            reports=[convert.report_to_pb(r) for r in reports],
            repair=convert.repair_to_pb(repair) if repair else None,
        )

    @unary
    async def Upload(self, request_iterator, context) -> ingest_pb2.UploadResponse:
        writer = None
        header = None
        try:
            async for part in request_iterator:
                if part.HasField("header"):
                    if header is not None:
                        raise InvalidInput("an upload has exactly one header, first")
                    header = part.header
                    limits.check_message(header)
                    if len(header.sha256) != 64:
                        raise InvalidInput("the upload header needs the hex sha256 of the whole file")
                    upload_id, writer = self.uploads.begin(header.size, upload_owner(await self.auth.caller(context)))
                elif writer is None:
                    raise InvalidInput("send the upload header (filename, size, sha256) before any chunk")
                else:
                    await asyncio.to_thread(writer.write, part.chunk)
            if writer is None:
                raise InvalidInput("the upload was empty: send a header, then chunks")
            sha = await asyncio.to_thread(writer.finish, header.sha256)
            return ingest_pb2.UploadResponse(upload_id=upload_id, size=writer.written, sha256=sha)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise

    @streaming
    async def BatchGenerate(self, request: ingest_pb2.BatchGenerateRequest, context):
        """Items run `concurrency` at a time; each item's request id makes a re-run resume, not redo."""
        convert.generate_params(request.params, self.settings.default_faces)
        # once for the batch: every item the same (in a thread: --device cuda asks torch for a GPU)
        params, chose = await asyncio.to_thread(resolve_backend, self.settings, request.params)
        caller = await self.auth.caller(context)
        author = author_label(request.author, caller)
        concurrency = max(1, min(request.concurrency or 2, self.settings.max_jobs_per_caller))
        gate = asyncio.Semaphore(concurrency)
        params_key = params.SerializeToString(deterministic=True)
        results: asyncio.Queue = asyncio.Queue()

        async def one(index: int, item) -> None:
            result = ingest_pb2.BatchItemResult(index=index, asset=item.asset)
            async with gate:
                try:
                    asset = check_asset_name(item.asset)
                    image = await self._input(item.image, item.upload_id, "image", self.settings.max_image_bytes,
                                              upload_owner(caller))
                    request_id = item.request_id or hashlib.sha256(
                        asset.encode() + hashlib.sha256(image).digest() + params_key).hexdigest()
                    rec, new = await self.jobs.submit("generate", asset, author, caller.name,
                                                      image, generate_request(params), request_id,
                                                      notes=_auto_note(chose))
                    result.job_id = rec.id
                    async for event in self.jobs.watch(rec.id):
                        if event.HasField("version"):
                            result.ok, result.version = True, event.version.number
                            result.reused = event.version.reused or not new  # done by an earlier run of this batch
                        elif event.HasField("error"):
                            result.error.CopyFrom(event.error)
                except MeshsmithError as err:
                    result.error.code, result.error.message = err.status, err.message
            await results.put(result)

        tasks = [asyncio.create_task(one(i, item)) for i, item in enumerate(request.items)]
        summary = ingest_pb2.BatchSummary(total=len(tasks))
        try:
            for _ in tasks:
                result = await results.get()
                summary.ok += result.ok
                summary.failed += not result.ok
                summary.reused += result.reused
                yield ingest_pb2.BatchGenerateResponse(item=result)
        finally:
            for t in tasks:
                t.cancel()
        yield ingest_pb2.BatchGenerateResponse(summary=summary)

    @unary
    async def Cutout(self, request: ingest_pb2.CutoutRequest, context) -> ingest_pb2.CutoutResponse:
        """The mask Generate would use for the picture, and which cut-out made it (run in a worker; nothing stored)."""
        image = await self._input(request.image, request.upload_id, "image", self.settings.max_image_bytes,
                                  upload_owner(await self.auth.caller(context)))
        job = CutoutJob(image=image, limits=self.settings.image_limits, learned=learned_config(self.settings))
        out = await self.pool.run("cutout", job)
        return ingest_pb2.CutoutResponse(mask_png=out["mask_png"], used=out["used"], lineage=convert.struct(out["lineage"]),
                                         warnings=out["warnings"], width=out["width"], height=out["height"],
                                         object_pixels=out["object_pixels"])

    @unary
    async def ListBackends(self, request: ingest_pb2.ListBackendsRequest, context) -> ingest_pb2.ListBackendsResponse:
        backends = await asyncio.to_thread(list_backends, self.settings)  # may hash weights once
        return ingest_pb2.ListBackendsResponse(backends=[convert.backend_to_pb(b) for b in backends])
